import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SpokeError } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { readAll } from '@spoke/transport-core/testing';
import { INSECURE_WARNING, createHttpConnectDialer, createTlsDialer } from '../src/index.js';
import { startConnectProxy, type TestProxy } from './support/connect-proxy.js';
import { rejection } from './support/expect-error.js';
import { startHttpsServer, type TestHttpsServer } from './support/servers.js';

const caA = createCertificateAuthority({ commonName: 'CA A' });
const caB = createCertificateAuthority({ commonName: 'CA B' });
const clientCa = createCertificateAuthority({ commonName: 'client CA' });
const servingB = caB.issue({ commonName: 'server-b', altNames: ['127.0.0.1'], usages: ['server'] });

async function healthz(stream: Duplex): Promise<string> {
  stream.end('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const text = (await readAll(stream)).toString();
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

describe('createTlsDialer', () => {
  let dir: string;
  let server: TestHttpsServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spoke-tls-'));
    server = await startHttpsServer({
      cert: servingB.cert,
      key: servingB.key,
      ca: clientCa.cert,
      requestCert: true,
      rejectUnauthorized: false,
    });
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('picks up a rotated CA file on the next dial (rename into place)', async () => {
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, caA.cert);
    const dialer = createTlsDialer({ caFile });
    expect((await rejection(dialer.dial(server.address, { timeoutMs: 10_000 }))).code).toBe('ERR_CERT_UNTRUSTED');
    await writeFile(`${caFile}.new`, caB.cert);
    await rename(`${caFile}.new`, caFile);
    expect(await healthz(await dialer.dial(server.address, { timeoutMs: 10_000 }))).toBe('ok anonymous');
  });

  it('picks up a CA file rewritten in place', async () => {
    const caFile = join(dir, 'ca-inplace.pem');
    await writeFile(caFile, caB.cert);
    const dialer = createTlsDialer({ caFile });
    expect(await healthz(await dialer.dial(server.address))).toBe('ok anonymous');
    await writeFile(caFile, `${caA.cert}\n`);
    expect((await rejection(dialer.dial(server.address))).code).toBe('ERR_CERT_UNTRUSTED');
  });

  it('picks up a rotated client certificate and key', async () => {
    const certFile = join(dir, 'client.crt');
    const keyFile = join(dir, 'client.key');
    const first = clientCa.issue({ commonName: 'client-1', usages: ['client'] });
    const second = clientCa.issue({ commonName: 'client-2', usages: ['client'] });
    await writeFile(certFile, first.cert);
    await writeFile(keyFile, first.key);
    const dialer = createTlsDialer({ ca: caB.cert, certFile, keyFile });
    expect(await healthz(await dialer.dial(server.address))).toBe('ok client-1');
    // Mid-rotation (new cert, old key) the last good pair is still used.
    await writeFile(certFile, second.cert);
    expect(await healthz(await dialer.dial(server.address))).toBe('ok client-1');
    await writeFile(keyFile, second.key);
    expect(await healthz(await dialer.dial(server.address))).toBe('ok client-2');
  });

  it('fails a dial with ERR_BAD_OPTION naming a CA file that does not exist', async () => {
    const err = await createTlsDialer({ caFile: join(dir, 'missing.pem') })
      .dial(server.address)
      .catch((e: unknown) => e as SpokeError);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_BAD_OPTION');
    expect((err as SpokeError).message).toContain('missing.pem');
  });

  it('rejects a certificate and key that do not belong together', async () => {
    const a = clientCa.issue({ commonName: 'a' });
    const b = clientCa.issue({ commonName: 'b' });
    expect(() => createTlsDialer({ ca: caB.cert, cert: a.cert, key: b.key })).toThrow(/cannot be used together/);
    const certFile = join(dir, 'a.crt');
    const keyFile = join(dir, 'b.key');
    await writeFile(certFile, a.cert);
    await writeFile(keyFile, b.key);
    expect((await rejection(createTlsDialer({ ca: caB.cert, certFile, keyFile }).dial(server.address))).code).toBe('ERR_BAD_OPTION');
  });

  it('validates options when created', () => {
    const make = (o: Parameters<typeof createTlsDialer>[0]) => () => createTlsDialer(o);
    expect(make({ ca: caA.cert, caFile: '/x' })).toThrow(/either ca or caFile/);
    expect(make({ cert: 'x' })).toThrow(/key \(or keyFile\) is missing/);
    expect(make({ insecureSkipVerify: true, pin: 'sha256:x' })).toThrow(/pins included/);
    expect(make({ timeoutMs: -1 })).toThrow(/timeoutMs/);
  });

  it('warns once through the injected warn callback when verification is off, and then connects', async () => {
    const warn = vi.fn();
    const dialer = createTlsDialer({ insecureSkipVerify: true, warn });
    expect(await healthz(await dialer.dial(server.address))).toBe('ok anonymous');
    expect(await healthz(await dialer.dial(server.address))).toBe('ok anonymous');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(INSECURE_WARNING);
  });

  it('runs TLS over a unix socket, checking servername (default localhost)', async () => {
    const path = join(dir, 'tls.sock');
    const local = caB.issue({ commonName: 'local', altNames: ['localhost'], usages: ['server'] });
    const accepted = new Set<net.Socket>();
    const unixServer = tls.createServer({ cert: local.cert, key: local.key }, (s) => s.end('hi over unix'));
    // transport-core's SpokeSocket cannot RST a unix socket (see the package report), so close server sides here.
    unixServer.on('connection', (s: net.Socket) => {
      accepted.add(s);
      s.on('error', () => {});
    });
    unixServer.listen(path);
    await once(unixServer, 'listening');
    try {
      const s = await createTlsDialer({ ca: caB.cert }).dial(`unix:${path}`);
      expect((await readAll(s)).toString()).toBe('hi over unix');
      s.end();
      expect((await rejection(createTlsDialer({ ca: caB.cert, servername: 'node-9' }).dial(`unix:${path}`))).code).toBe(
        'ERR_CERT_HOSTNAME',
      );
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise((r) => unixServer.close(r));
    }
  });

  describe('through a via dialer', () => {
    let proxy: TestProxy;
    beforeAll(async () => {
      proxy = await startConnectProxy();
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it('runs TLS end to end through an HTTP CONNECT proxy', async () => {
      const dialer = createTlsDialer({ ca: caB.cert, via: createHttpConnectDialer({ proxy: proxy.address }) });
      expect(await healthz(await dialer.dial(server.address))).toBe('ok anonymous');
      expect(proxy.requests.at(-1)?.url).toBe(server.address);
    });
  });
});
