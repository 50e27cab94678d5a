import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { readAll, readExactly } from '@spoke/transport-core/testing';
import { MAX_RESPONSE_HEAD, ProxyStatusError, createHttpConnectDialer } from '../src/index.js';
import { startConnectProxy, type TestProxy } from './support/connect-proxy.js';
import { rejection } from './support/expect-error.js';
import { startBannerServer } from './support/servers.js';

/** readAll after readExactly: readExactly leaves the stream paused, and a 'data' listener does not resume it. */
function rest(s: Duplex): Promise<Buffer> {
  const all = readAll(s);
  s.resume();
  return all;
}

describe('createHttpConnectDialer', () => {
  let target: { address: string; close(): Promise<void> };
  let dir: string;
  const proxies: TestProxy[] = [];
  const proxy = async (...args: Parameters<typeof startConnectProxy>): Promise<TestProxy> => {
    const p = await startConnectProxy(...args);
    proxies.push(p);
    return p;
  };

  beforeAll(async () => {
    target = await startBannerServer('BANNER\n');
    dir = await mkdtemp(join(tmpdir(), 'spoke-connect-'));
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await target?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends CONNECT host:port with a Host header and the extra headers', async () => {
    const p = await proxy();
    const s = await createHttpConnectDialer({ proxy: p.address, headers: { 'X-Trace': 'abc' } }).dial(target.address);
    expect((await readExactly(s, 7)).toString()).toBe('BANNER\n');
    s.end('echo me');
    expect((await rest(s)).toString()).toBe('echo me');
    expect(p.requests[0]?.url).toBe(target.address);
    expect(p.requests[0]?.headers.host).toBe(target.address);
    expect(p.requests[0]?.headers['x-trace']).toBe('abc');
  });

  it('keeps bytes the proxy sent in the same write as its 200 answer', async () => {
    const p = await proxy({ coalesceFirstChunk: true });
    const s = await createHttpConnectDialer({ proxy: p.address }).dial(target.address);
    s.end('after');
    expect((await readAll(s)).toString()).toBe('BANNER\nafter');
  });

  it('fails with ProxyStatusError (ERR_PROXY_STATUS, status 407, the proxy text) without credentials, never printing them', async () => {
    const p = await proxy({ authorization: 'Basic c2VjcmV0OnNlY3JldA==' });
    const err = await rejection(
      createHttpConnectDialer({ proxy: p.address, headers: { 'Proxy-Authorization': 'Basic d3Jvbmc6d3Jvbmc=' } }).dial(target.address),
    );
    expect(err).toBeInstanceOf(ProxyStatusError);
    expect(err.code).toBe('ERR_PROXY_STATUS');
    expect((err as ProxyStatusError).status).toBe(407);
    expect((err as ProxyStatusError).body).toBe('proxy credentials required');
    expect(err.message).toContain('407 Proxy Authentication Required');
    expect(err.message).toContain('proxy credentials required');
    expect(err.message).toMatch(/Proxy-Authorization/);
    expect(err.message).not.toContain('d3Jvbmc6d3Jvbmc=');
    const s = await createHttpConnectDialer({ proxy: p.address, headers: { 'Proxy-Authorization': 'Basic c2VjcmV0OnNlY3JldA==' } }).dial(
      target.address,
    );
    expect((await readExactly(s, 7)).toString()).toBe('BANNER\n');
    s.destroy();
  });

  it('maps a refusal the proxy names (X-Spoke-Error-Code) to that dial code, keeping the status', async () => {
    const p = await proxy();
    const err = await rejection(createHttpConnectDialer({ proxy: p.address }).dial('127.0.0.1:1'));
    expect(err.code).toBe('ERR_DIAL_REFUSED');
    expect((err as ProxyStatusError).status).toBe(502);
  });

  it('maps Squid-style X-Squid-Error answers, and plain 5xx to ERR_PROXY_STATUS', async () => {
    const squid = await proxy({
      cannedAnswer: 'HTTP/1.1 503 Service Unavailable\r\nX-Squid-Error: ERR_CONNECT_FAIL 111\r\nContent-Length: 0\r\n\r\n',
    });
    expect((await rejection(createHttpConnectDialer({ proxy: squid.address }).dial(target.address))).code).toBe('ERR_DIAL_REFUSED');
    const plain = await proxy({ cannedAnswer: 'HTTP/1.0 503 Nope\r\n\r\nupstream down' });
    const err = await rejection(createHttpConnectDialer({ proxy: plain.address }).dial(target.address));
    expect(err.code).toBe('ERR_PROXY_STATUS');
    expect(err.message).toContain('503 Nope');
    expect(err.message).toContain('upstream down');
  });

  it(`bounds the response head (${MAX_RESPONSE_HEAD} bytes) with ERR_PROTOCOL`, async () => {
    const p = await proxy({ cannedAnswer: `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_RESPONSE_HEAD + 10)}\r\n\r\n` });
    const err = await rejection(createHttpConnectDialer({ proxy: p.address }).dial(target.address));
    expect(err.code).toBe('ERR_PROTOCOL');
    expect(err.message).toContain(String(MAX_RESPONSE_HEAD));
  });

  it('fails a non-HTTP answer and a close before any answer with ERR_PROTOCOL', async () => {
    const ssh = await proxy({ cannedAnswer: 'SSH-2.0-OpenSSH_9.6\r\n\r\n' });
    const err = await rejection(createHttpConnectDialer({ proxy: ssh.address }).dial(target.address));
    expect(err.code).toBe('ERR_PROTOCOL');
    expect(err.message).toContain('SSH-2.0');
    const silent = await proxy({ cannedAnswer: '' });
    expect((await rejection(createHttpConnectDialer({ proxy: silent.address }).dial(target.address))).code).toBe('ERR_PROTOCOL');
  });

  it('reaches a proxy on a unix socket', async () => {
    const p = await proxy({ path: join(dir, 'proxy.sock') });
    const s = await createHttpConnectDialer({ proxy: p.address }).dial(target.address);
    expect((await readExactly(s, 7)).toString()).toBe('BANNER\n');
    s.end();
    await rest(s);
  });

  describe('https proxy with mTLS', () => {
    const proxyCa = createCertificateAuthority({ commonName: 'proxy CA' });
    const clientCa = createCertificateAuthority({ commonName: 'proxy client CA' });
    const serving = proxyCa.issue({ commonName: 'proxy', altNames: ['127.0.0.1'], usages: ['server'] });
    const client = clientCa.issue({ commonName: 'apiserver', usages: ['client'] });
    let p: TestProxy;
    beforeAll(async () => {
      p = await proxy({ tls: { cert: serving.cert, key: serving.key, ca: clientCa.cert, requestCert: true, rejectUnauthorized: true } });
    });

    it('tunnels over TLS presenting the client certificate, early data included', async () => {
      const s = await createHttpConnectDialer({ proxy: p.address, tls: { ca: proxyCa.cert, cert: client.cert, key: client.key } }).dial(
        target.address,
      );
      s.end('x');
      expect((await readAll(s)).toString()).toBe('BANNER\nx');
    });

    it('fails with ERR_AUTH_FAILED without a client certificate and ERR_CERT_UNTRUSTED with the wrong CA', async () => {
      expect((await rejection(createHttpConnectDialer({ proxy: p.address, tls: { ca: proxyCa.cert } }).dial(target.address))).code).toBe(
        'ERR_AUTH_FAILED',
      );
      const wrongCa = createHttpConnectDialer({ proxy: p.address, tls: { ca: clientCa.cert, cert: client.cert, key: client.key } });
      expect((await rejection(wrongCa.dial(target.address))).code).toBe('ERR_CERT_UNTRUSTED');
    });
  });

  it('validates options and targets', async () => {
    expect(() => createHttpConnectDialer({ proxy: 'nope' })).toThrow(/proxy option/);
    expect(() => createHttpConnectDialer({ proxy: '127.0.0.1:1', headers: { 'X-A': 'a\r\nb' } })).toThrow(/single-line/);
    expect(() => createHttpConnectDialer({ proxy: '127.0.0.1:1', headers: { Host: 'x' } })).toThrow(/Host/);
    expect((await rejection(createHttpConnectDialer({ proxy: '127.0.0.1:1' }).dial('unix:/run/x.sock'))).code).toBe('ERR_BAD_TARGET');
  });
});
