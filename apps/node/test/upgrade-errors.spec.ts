import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type NodeUnderTest } from './kubelet-client.js';

/** Sends a SPDY/3.1 upgrade request and returns the (non-101) answer. */
function spdyUpgrade(
  t: NodeUnderTest,
  path: string,
  protocols?: string[],
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' };
    if (protocols) headers['X-Stream-Protocol-Version'] = protocols;
    const req = https.request({ host: '127.0.0.1', port: t.node.port, path, method: 'POST', headers, ...t.tls });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      reject(new Error(`unexpected upgrade: ${res.statusCode}`));
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

// The httpstream handshake's answers, as the kubelet gives them.
describe('SPDY upgrade refusals', () => {
  let t: NodeUnderTest;
  beforeAll(async () => {
    t = await startNode({ pods: [{ name: 'tools', containers: [{ name: 'shell' }] }] });
  });
  afterAll(async () => {
    await t.close();
  });

  it('403 listing what we accept when no offered protocol is served', async () => {
    const r = await spdyUpgrade(t, '/exec/default/tools/shell?command=true&output=1', ['channel.k8s.io', 'v9.channel.k8s.io']);
    expect(r.status).toBe(403);
    expect(r.headers['x-accepted-stream-protocol-versions']).toBe(
      'v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io',
    );
    expect(r.body).toContain('unable to negotiate protocol');
  });

  it('400 without X-Stream-Protocol-Version', async () => {
    const r = await spdyUpgrade(t, '/portForward/default/tools');
    expect(r.status).toBe(400);
    expect(r.body).toContain('X-Stream-Protocol-Version is required');
  });

  it('400 when exec asks for none of stdin, stdout, stderr', async () => {
    const r = await spdyUpgrade(t, '/exec/default/tools/shell?command=true', ['v4.channel.k8s.io']);
    expect(r.status).toBe(400);
    expect(r.body).toContain('you must specify at least 1 of stdin, stdout, stderr');
  });

  it('404 for a container the pod does not have', async () => {
    const r = await spdyUpgrade(t, '/exec/default/tools/nope?command=true&output=1', ['v4.channel.k8s.io']);
    expect(r.status).toBe(404);
    expect(r.body).toContain('container nope is not valid for pod tools');
  });
});
