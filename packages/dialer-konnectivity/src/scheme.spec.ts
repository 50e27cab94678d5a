import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { SpokeError, createDialerRegistry } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { konnectivityEgressBackend, konnectivityScheme } from './scheme.js';

const dir = mkdtempSync(join(tmpdir(), 'spoke-konn-scheme-'));
const ca = createCertificateAuthority();
const client = ca.issue({ commonName: 'c', usages: ['client'] });
writeFileSync(join(dir, 'ca.pem'), ca.cert);
writeFileSync(join(dir, 'c.pem'), client.cert);
writeFileSync(join(dir, 'k.pem'), client.key);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ctx = { warn: () => {} };

describe('konnectivityScheme', () => {
  const registry = createDialerRegistry([konnectivityScheme]);

  it.each([
    'konnectivity+grpc+unix:///run/konnectivity.sock',
    'konnectivity+connect+unix:///run/konnectivity.sock',
    `konnectivity+grpc://127.0.0.1:8090?ca=${dir}/ca.pem&cert=${dir}/c.pem&key=${dir}/k.pem`,
    `konnectivity+connect://localhost:8131?ca=${dir}/ca.pem&cert=${dir}/c.pem&key=${dir}/k.pem&servername=konnectivity`,
  ])('builds a dialer for %s', async (uri) => {
    const d = registry.create(uri, ctx);
    expect(d.kind).toBe('konnectivity');
    await d.close();
  });

  it.each([
    'konnectivity+grpc+unix://host/x.sock',
    'konnectivity+connect+unix:///',
    `konnectivity+grpc://127.0.0.1:8090?ca=${dir}/missing.pem`,
    `konnectivity+grpc://127.0.0.1:8090?ca=${dir}/ca.pem&cert=${dir}/c.pem`,
  ])('rejects %s with ERR_BAD_URI', (uri) => {
    const err = (() => {
      try {
        registry.create(uri, ctx);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_BAD_URI');
  });
});

describe('konnectivityEgressBackend', () => {
  it('accepts the shapes of an EgressSelectorConfiguration connection', async () => {
    const a = konnectivityEgressBackend({ proxyProtocol: 'GRPC', transport: { uds: { udsName: '/run/k.sock' } } });
    const b = konnectivityEgressBackend({
      proxyProtocol: 'HTTPConnect',
      transport: {
        tcp: {
          url: 'https://konnectivity:8131',
          tlsConfig: { caBundle: `${dir}/ca.pem`, clientCert: `${dir}/c.pem`, clientKey: `${dir}/k.pem` },
        },
      },
    });
    expect([a.kind, b.kind]).toEqual(['konnectivity', 'konnectivity']);
    await a.close();
    await b.close();
  });

  it('checks tlsServerName in the server certificate instead of the URL host', async () => {
    const serverCert = ca.issue({ commonName: 'konnectivity-server', altNames: ['konnectivity-server'] });
    // An HTTP-CONNECT front end that grants every CONNECT, enough to see the TLS handshake through.
    const server = tls.createServer({ cert: serverCert.cert, key: serverCert.key, ca: ca.cert, requestCert: true }, (socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.write('HTTP/1.1 200 Connection Established\r\n\r\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const connection = (tlsServerName?: string) =>
      ({
        proxyProtocol: 'HTTPConnect',
        transport: {
          tcp: {
            url: `https://127.0.0.1:${port}`,
            tlsConfig: {
              caBundle: `${dir}/ca.pem`,
              clientCert: `${dir}/c.pem`,
              clientKey: `${dir}/k.pem`,
              ...(tlsServerName ? { tlsServerName } : {}),
            },
          },
        },
      }) as const;
    const named = konnectivityEgressBackend(connection('konnectivity-server'));
    const unnamed = konnectivityEgressBackend(connection());
    try {
      const socket = await named.dial('10.0.0.1:443', { signal: AbortSignal.timeout(10_000) });
      socket.destroy();
      await expect(unnamed.dial('10.0.0.1:443', { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(
        /127\.0\.0\.1|certificate|altnames/i,
      );
    } finally {
      await named.close();
      await unnamed.close();
      server.close();
    }
  });

  it('rejects Direct, missing transports and unreadable files with ERR_BAD_CONFIG', () => {
    const bad = [
      { proxyProtocol: 'Direct' as const },
      { proxyProtocol: 'GRPC' as const, transport: {} },
      { proxyProtocol: 'HTTPConnect' as const, transport: { tcp: { url: 'https://k:8131', tlsConfig: { caBundle: `${dir}/nope.pem` } } } },
    ];
    for (const c of bad)
      expect(() => konnectivityEgressBackend(c)).toThrowError(expect.objectContaining({ code: 'ERR_BAD_CONFIG' }) as Error);
  });
});
