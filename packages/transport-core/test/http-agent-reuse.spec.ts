import http from 'node:http';
import https from 'node:https';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpAgent, createHttpsAgent, createNetDialer, type Dialer } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { createSessionPair } from '@spoke/transport-core/testing';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server that closes idle keep-alive connections after 50 ms (a kubelet does after 5 s). */
async function serve(secure: boolean): Promise<{ port: number; ca: string; closedConnections: () => Promise<void> }> {
  const ca = createCertificateAuthority({ commonName: 'test ca' });
  const leaf = ca.issue({ commonName: 'localhost', altNames: ['localhost', '127.0.0.1'] });
  const handler: http.RequestListener = (_req, res) => res.end('ok');
  const server = secure ? https.createServer({ cert: leaf.cert, key: leaf.key }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 50;
  const sockets: Socket[] = [];
  server.on(secure ? 'secureConnection' : 'connection', (s: Socket) => {
    s.on('error', () => {});
    sockets.push(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const closedConnections = async (): Promise<void> => {
    for (const s of sockets) if (!s.destroyed) await new Promise((r) => s.once('close', r));
  };
  return { port: (server.address() as AddressInfo).port, ca: ca.cert, closedConnections };
}

function get(agent: http.Agent, port: number, secure: boolean, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    (secure ? https : http)
      .get({ host: '127.0.0.1', port, path: '/', agent, ca }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const dialers: Array<[string, () => Promise<Dialer>]> = [
  ['net', () => Promise.resolve(createNetDialer())],
  [
    'a spoke/1 session',
    async () => {
      const pair = await createSessionPair('tcp');
      cleanups.push(() => pair.close());
      await pair.initiator.ready();
      return pair.initiator;
    },
  ],
];

// Regression: a pooled keep-alive connection whose server closed it while idle was handed out
// again, and the request failed (EPIPE / stream reset): the sample control plane showed its
// kubelets NotReady after a minute idle.
describe.each(dialers)('keep-alive through %s', (_name, makeDialer) => {
  for (const secure of [false, true]) {
    it(`${secure ? 'https' : 'http'}: a connection the server closed while idle is not reused`, async () => {
      const server = await serve(secure);
      const dialer = await makeDialer();
      const agent = secure
        ? createHttpsAgent(dialer, { keepAlive: true, maxSockets: 1 })
        : createHttpAgent(dialer, { keepAlive: true, maxSockets: 1 });
      cleanups.push(() => agent.destroy());
      expect(await get(agent, server.port, secure, server.ca)).toBe('ok');
      await server.closedConnections();
      expect(await get(agent, server.port, secure, server.ca)).toBe('ok');
    });
  }
});
