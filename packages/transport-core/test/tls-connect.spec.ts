import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpokeError, connectTls, createNetDialer } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { closed, readAll } from '@spoke/transport-core/testing';

const ca = createCertificateAuthority({ commonName: 'tls-connect CA' });
const leaf = ca.issue({ commonName: 'server', altNames: ['localhost'], usages: ['server'] });

describe('connectTls over a net dialer socket', () => {
  let server: tls.Server;
  let port = 0;
  beforeAll(async () => {
    server = tls.createServer({ cert: leaf.cert, key: leaf.key }, (s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('bye'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  // Regression: destroying a TLS socket made SpokeSocket try a RST on the handle TLS had taken (reset EINVAL).
  it('destroys cleanly, without a "reset EINVAL" error, once TLS wraps the socket', async () => {
    const raw = await createNetDialer().dial({ host: '127.0.0.1', port });
    const rawErrors: Error[] = [];
    raw.on('error', (e) => rawErrors.push(e));
    const secure = await connectTls(raw, { host: 'localhost' }, { ca: ca.cert });
    const done = closed(secure);
    secure.write('hi');
    expect((await readAll(secure)).toString()).toBe('bye');
    secure.destroy();
    expect(await done).toBeUndefined();
    await closed(raw);
    expect(rawErrors).toEqual([]);
  });

  it('rejects bad PEM material with ERR_BAD_OPTION instead of throwing', async () => {
    const raw = await createNetDialer().dial({ host: '127.0.0.1', port });
    const err = await connectTls(raw, { host: 'localhost' }, { ca: ca.cert, cert: 'not a pem', key: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_BAD_OPTION');
    expect(raw.destroyed).toBe(true);
  });
});

describe('https through createHttpsAgent(net dialer) with mTLS', () => {
  // Regression: the demo's first request failed with "reset EINVAL" from the raw socket under TLS.
  it('completes and closes without errors', async () => {
    const { default: https } = await import('node:https');
    const { createHttpsAgent } = await import('@spoke/transport-core');
    const client = ca.issue({ commonName: 'apiserver', usages: ['client'] });
    const server = https.createServer(
      { cert: leaf.cert, key: leaf.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
      (_req, res) => res.end('ok'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const agent = createHttpsAgent(createNetDialer());
    try {
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(
            {
              host: '127.0.0.1',
              port: (server.address() as AddressInfo).port,
              path: '/healthz',
              agent,
              ca: ca.cert,
              cert: client.cert,
              key: client.key,
              servername: 'localhost',
              signal: AbortSignal.timeout(5000),
            },
            (res) => {
              let b = '';
              res.on('data', (c: Buffer) => (b += c.toString()));
              res.on('end', () => resolve(b));
            },
          )
          .on('error', reject);
      });
      expect(body).toBe('ok');
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
