import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../client-node.js';
import { startApiServer, type ApiServer } from './support/servers.js';

const kubeconfigFor = (server: string, ca: string): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
    users: [{ name: 'u', user: { token: 'example-token' } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'c',
  });

describe('examples/client-node', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('lists namespaces with client-node, the connection dialled by the Dialer', async () => {
    const lines: string[] = [];
    const code = await main({ kubeconfig: kubeconfigFor(api.url, api.ca), signal: AbortSignal.timeout(30_000), log: (l) => lines.push(l) });
    expect(code).toBe(0);
    expect(lines).toEqual([`dialled 127.0.0.1:${api.port} through net`, 'namespaces: default, kube-system']);
    expect(api.requests.at(-1)).toBe('GET /api/v1/namespaces Bearer example-token');
  });

  it('keeps the kubeconfig CA: a server signed by another CA is ERR_CERT_UNTRUSTED', async () => {
    const other = await startApiServer();
    try {
      const lines: string[] = [];
      const code = await main({
        kubeconfig: kubeconfigFor(other.url, api.ca),
        signal: AbortSignal.timeout(30_000),
        log: (l) => lines.push(l),
      });
      expect(code).toBe(1);
      expect(lines.at(-1)).toMatch(/^ERR_CERT_UNTRUSTED: /);
    } finally {
      await other.close();
    }
  });
});
