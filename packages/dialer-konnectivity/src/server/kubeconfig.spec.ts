import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpokeError } from '@spoke/transport-core';
import { loadKubeconfig } from './kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'spoke-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The shape `kubectl config view --raw` writes (sequences at the parent key's indent).
const KUBECTL_STYLE = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}
    server: https://127.0.0.1:6443/
  name: kind-kind
- cluster:
    server: https://other:443
  name: other
contexts:
- context:
    cluster: kind-kind
    user: "kind-kind"
  name: kind-kind   # the one in use
current-context: kind-kind
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate: client.pem
    client-key: 'client-key.pem'
    tokenFile: token
`;

describe('kubeconfig', () => {
  it('reads YAML beyond what kubectl writes: anchors, block scalars, flow collections, comments', () => {
    const file = join(dir, 'anchors');
    writeFileSync(
      file,
      `current-context: c
contexts: [{ name: c, context: { cluster: k, user: u } }]
clusters:
  - name: k
    cluster: &k
      server: https://10.0.0.1:6443
      certificate-authority-data: |
        ${Buffer.from('CA PEM').toString('base64')}
  - name: same-as-k
    cluster: *k
users:
  - name: u # the only user
    user: { token: t0k }
`,
    );
    const access = loadKubeconfig(file);
    expect(access.server).toBe('https://10.0.0.1:6443');
    expect(access.ca?.toString()).toBe('CA PEM');
    expect(access.token?.()).toBe('t0k');
  });

  it('keeps scalars that look like numbers as the text written, as client-go reads string fields', () => {
    const file = join(dir, 'numbers');
    writeFileSync(
      file,
      `current-context: 1
contexts:
- name: 1
  context: { cluster: 2, user: 3 }
clusters:
- name: 2
  cluster: { server: https://10.0.0.1 }
users:
- name: 3
  user: { token: 0012345 }
`,
    );
    expect(loadKubeconfig(file).token?.()).toBe('0012345');
  });

  it.each([
    ['a syntax error', 'current-context: [c\nclusters: []\n', /not valid YAML or JSON: .*line/],
    ['a duplicate key', 'current-context: a\ncurrent-context: b\n', /not valid YAML or JSON: Map keys must be unique/],
    ['two documents', 'current-context: a\n---\ncurrent-context: b\n', /not valid YAML or JSON: .*multiple documents/],
    ['an empty file', '', /not a mapping/],
    ['a list', '- a\n', /not a mapping/],
    ['no current context', 'clusters: []\n', /no current-context/],
  ])('refuses %s with ERR_BAD_CONFIG', (_what, text, message) => {
    const file = join(dir, 'bad');
    writeFileSync(file, text);
    let err: unknown;
    try {
      loadKubeconfig(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_BAD_CONFIG');
    expect((err as SpokeError).message).toMatch(message);
  });

  it('resolves the current context: server, CA data, client cert files relative to the kubeconfig, token file', () => {
    writeFileSync(join(dir, 'client.pem'), 'CERT');
    writeFileSync(join(dir, 'client-key.pem'), 'KEY');
    writeFileSync(join(dir, 'token'), 'api-token\n');
    const file = join(dir, 'config');
    writeFileSync(file, KUBECTL_STYLE);
    const access = loadKubeconfig(file);
    expect(access.server).toBe('https://127.0.0.1:6443');
    expect(access.ca?.toString()).toBe('CA PEM');
    expect(access.cert?.toString()).toBe('CERT');
    expect(access.key?.toString()).toBe('KEY');
    expect(access.token?.()).toBe('api-token');
    expect(access.insecure).toBe(false);
  });

  it('accepts the JSON form and the parsed object, and names what is missing', () => {
    const obj = {
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [{ name: 'k', cluster: { server: 'https://10.0.0.1', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 't0k' } }],
    };
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(obj));
    expect(loadKubeconfig(file).token?.()).toBe('t0k');
    expect(loadKubeconfig(obj).insecure).toBe(true);
    expect(() => loadKubeconfig({ ...obj, 'current-context': 'nope' })).toThrow(/no context named "nope"/);
    expect(() => loadKubeconfig(join(dir, 'absent'))).toThrow(/Cannot read kubeconfig/);
  });
});
