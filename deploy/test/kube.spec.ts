import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeCluster, type KubeCluster } from '@spoke/e2e/kube';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFESTS_DIR, NAMESPACE } from '../render.mjs';
import { find, parseObjects, staticPod } from './objects.js';

// Every object of deploy/manifests applied with `kubectl apply --dry-run=server` to the real kube-apiserver the e2e
// suite runs (etcd + kube-apiserver v1.34.4 from the Go module proxy): the API server decodes, defaults, validates and
// admits each one (PriorityClass, hostPath, probes, securityContext, RBAC references) and stores nothing.
let cluster: KubeCluster;
const cacheDirs: string[] = [];

/** cert-manager's CRDs are not installed here: stand-ins accept any spec, so only apiVersion, kind and metadata are checked. */
function standInCrd(kind: string, plural: string): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.cert-manager.io` },
    spec: {
      group: 'cert-manager.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

async function must(args: string[], stdin?: string): Promise<string> {
  const r = await cluster.kubectl(args, stdin !== undefined ? { stdin } : {});
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A server-side dry run of `yamlText`, with a fresh discovery cache (the stand-in CRDs are new). */
async function dryRun(yamlText: string): Promise<{ code: number; names: string[]; stderr: string }> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'spoke-deploy-kubecache-'));
  cacheDirs.push(cacheDir);
  const r = await cluster.kubectl(['apply', '--dry-run=server', `--cache-dir=${cacheDir}`, '-o', 'name', '-f', '-'], { stdin: yamlText });
  return { code: r.code, names: r.stdout.trim().split('\n').filter(Boolean), stderr: r.stderr };
}

beforeAll(async () => {
  cluster = await startKubeCluster();
  // A dry run creates nothing, so the namespace the objects live in must exist for real.
  await must(['create', 'namespace', NAMESPACE, '--save-config']);
  await must(
    ['apply', '-f', '-'],
    [standInCrd('Certificate', 'certificates'), standInCrd('Issuer', 'issuers')].map((c) => `---\n${stringify(c)}`).join(''),
  );
  await must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/certificates.cert-manager.io', 'crd/issuers.cert-manager.io']);
}, 180_000);

afterAll(async () => {
  await cluster?.close();
  for (const d of cacheDirs) rmSync(d, { recursive: true, force: true });
});

describe('kubectl apply --dry-run=server to the real kube-apiserver', () => {
  for (const example of ['hub-agents', 'konnectivity', 'mtls-cert-manager']) {
    it(`deploy/manifests/${example}.yaml: every object is accepted`, async () => {
      const text = readFileSync(join(MANIFESTS_DIR, `${example}.yaml`), 'utf8');
      const objects = parseObjects(text);
      const r = await dryRun(text);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.names.length).toBe(objects.length);
    });
  }

  it('the Konnectivity server static pod (from the ConfigMap) is a Pod the API accepts', async () => {
    const cm = find(parseObjects(readFileSync(join(MANIFESTS_DIR, 'konnectivity.yaml'), 'utf8')), 'ConfigMap', 'spoke-konnectivity-server');
    const r = await dryRun(stringify(staticPod(cm, 'konnectivity-server.yaml')));
    expect(r.stderr).toBe('');
    expect(r.names).toEqual(['pod/konnectivity-server']);
  });

  it('the check works: the API refuses an invalid object', async () => {
    const r = await dryRun(
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'bad', namespace: NAMESPACE },
        spec: {
          containers: [{ name: 'c', image: 'x', securityContext: { capabilities: { drop: ['ALL'] } }, ports: [{ containerPort: 70000 }] }],
        },
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('containerPort');
  });
});
