import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKubeconfig } from './kubeconfig.js';
import { parseYamlSubset } from './yaml-subset.js';

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
  it('parses the YAML subset kubectl writes', () => {
    expect(parseYamlSubset("a:\n  b: \"x: y\"\n  c:\n    - 1\n    - k: v\n      l: 'it''s'\nd: {}\ne: true # c\n")).toEqual({
      a: { b: 'x: y', c: ['1', { k: 'v', l: "it's" }] },
      d: {},
      e: true,
    });
    expect(() => parseYamlSubset('a: &anchor x\n')).toThrow(/JSON/);
    expect(() => parseYamlSubset('a: |\n  text\n')).toThrow(/JSON/);
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
