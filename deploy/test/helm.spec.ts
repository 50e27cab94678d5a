import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { helmPath, HELM_VERSION } from '../tools/build-helm.mjs';
import { CHART_DIR, EXAMPLES_DIR, exampleNames, helm, staleManifests } from '../render.mjs';
import { render } from './objects.js';

// helm lint and helm template with each values example, with the pinned helm (built by global setup).
describe(`the chart with helm ${HELM_VERSION}`, () => {
  it('is the pinned helm', () => {
    expect(helm(helmPath(), ['version', '--template', '{{ .Version }}'])).toBe(HELM_VERSION);
  });

  it('has the three values examples', () => {
    expect(exampleNames()).toEqual(['hub-agents', 'konnectivity', 'mtls-cert-manager']);
  });

  for (const name of ['hub-agents', 'konnectivity', 'mtls-cert-manager']) {
    it(`lints with --strict and renders with ${name}.yaml`, () => {
      const lint = helm(helmPath(), ['lint', CHART_DIR, '--strict', '-f', `${EXAMPLES_DIR}/${name}.yaml`]);
      expect(lint).toContain('0 chart(s) failed');
      expect(render(name).length).toBeGreaterThan(1);
    });
  }

  it('deploy/manifests are what deploy/render.mjs renders now', () => {
    expect(staleManifests(helmPath())).toEqual([]);
  });

  it('refuses to render without the Secrets the hub needs, naming the value', () => {
    const r = spawnSync(helmPath(), ['template', 'spoke', CHART_DIR], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('hub.tls.secretName is required');
    expect(() => render(undefined, ['hub.tls.secretName=tls'])).toThrow(/hub.tokens.secretName is required/);
    expect(() => render(undefined, ['hub.enabled=false', 'agent.enabled=false', 'konnectivityAgent.enabled=true'])).toThrow(
      /konnectivityAgent.proxyServerHost is required/,
    );
  });

  it('an agent verifies the hub by fingerprint instead of a CA when given one', () => {
    const objects = render('hub-agents', ['agent.hubFingerprint=sha256:00ff']);
    const ds = objects.find((o) => o.kind === 'DaemonSet');
    const text = JSON.stringify(ds);
    expect(text).toContain('--hub-fingerprint=sha256:00ff');
    expect(text).not.toContain('--ca=');
    expect(text).not.toContain('hub-ca');
  });
});
