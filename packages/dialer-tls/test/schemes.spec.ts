import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDialerRegistry, spkiPin } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { readAll } from '@spoke/transport-core/testing';
import { httpConnectScheme, tlsScheme } from '../src/index.js';
import { startConnectProxy, type TestProxy } from './support/connect-proxy.js';
import { rejection } from './support/expect-error.js';
import { startHttpsServer, type TestHttpsServer } from './support/servers.js';

const ca = createCertificateAuthority({ commonName: 'scheme CA' });
const serving = ca.issue({ commonName: 'node-1', altNames: ['127.0.0.1'], usages: ['server'] });
const client = ca.issue({ commonName: 'scheme-client', usages: ['client'] });

describe('tls:// and http-connect:// schemes', () => {
  let dir: string;
  let server: TestHttpsServer;
  let proxy: TestProxy;
  let tlsProxy: TestProxy;
  let unixProxy: TestProxy;
  const registry = createDialerRegistry([tlsScheme, httpConnectScheme]);
  const warnings: string[] = [];
  const context = { warn: (m: string) => warnings.push(m) };

  async function healthz(uris: string[]): Promise<string> {
    const s = await registry.chain(uris, context).dial(server.address, { timeoutMs: 10_000 });
    s.end('GET /healthz HTTP/1.1\r\nHost: node-1\r\nConnection: close\r\n\r\n');
    const text = (await readAll(s)).toString();
    return text.slice(text.indexOf('\r\n\r\n') + 4);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spoke-schemes-'));
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    await writeFile(join(dir, 'client.crt'), client.cert);
    await writeFile(join(dir, 'client.key'), client.key);
    await writeFile(join(dir, 'proxy-auth'), 'Bearer proxy-token\n');
    server = await startHttpsServer({ cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true });
    proxy = await startConnectProxy({ authorization: 'Bearer proxy-token' });
    tlsProxy = await startConnectProxy({
      tls: { cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true },
    });
    unixProxy = await startConnectProxy({ path: join(dir, 'proxy.sock') });
  });
  afterAll(async () => {
    await Promise.all([server?.close(), proxy?.close(), tlsProxy?.close(), unixProxy?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('tls:// with ca, cert and key files (mTLS to the target)', async () => {
    expect(await healthz([`tls://?ca=${dir}/ca.crt&cert=${dir}/client.crt&key=${dir}/client.key`])).toBe('ok scheme-client');
  });

  it('chains http-connect:// (credentials from a file) then tls://', async () => {
    const before = proxy.requests.length;
    const body = await healthz([
      `http-connect://127.0.0.1:${proxy.port}?proxy-authorization-file=${dir}/proxy-auth`,
      `tls://?ca=${dir}/ca.crt&cert=${dir}/client.crt&key=${dir}/client.key&servername=node-1`,
    ]);
    expect(body).toBe('ok scheme-client');
    expect(proxy.requests.length).toBe(before + 1);
  });

  it('sends user:pass@ as Basic credentials, and they never appear in errors', async () => {
    const err = await rejection(registry.chain([`http-connect://alice:s3cret@127.0.0.1:${proxy.port}`], context).dial(server.address));
    expect(err.code).toBe('ERR_PROXY_STATUS');
    expect(proxy.requests.at(-1)?.headers['proxy-authorization']).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    expect(err.message).not.toContain('s3cret');
  });

  it('http-connect+tls:// (mTLS to the proxy) and http-connect+unix://, each followed by tls:// pinned by SPKI', async () => {
    const pin = encodeURIComponent(spkiPin(serving.cert));
    const tail = `tls://?pin=${pin}&cert=${dir}/client.crt&key=${dir}/client.key`;
    expect(
      await healthz([`http-connect+tls://127.0.0.1:${tlsProxy.port}?ca=${dir}/ca.crt&cert=${dir}/client.crt&key=${dir}/client.key`, tail]),
    ).toBe('ok scheme-client');
    expect(await healthz([`http-connect+unix://${dir}/proxy.sock`, tail])).toBe('ok scheme-client');
  });

  it('warns through the context when insecure-skip-verify=true', async () => {
    warnings.length = 0;
    expect(await healthz([`tls://?insecure-skip-verify=true&cert=${dir}/client.crt&key=${dir}/client.key`])).toBe('ok scheme-client');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/verification is OFF/);
  });

  it.each([
    ['tls://node-1:443?ca=/x', /takes no host/],
    ['tls://?cafile=/x', /unknown parameter "cafile"/],
    ['tls://?ca=/nonexistent/ca.crt', /cannot be read: ENOENT/],
    ['tls://?pin=md5:abc', /is not sha256/],
    ['tls://?insecure-skip-verify=yes', /true or false/],
    ['http-connect://proxy', /host and a port/],
    ['http-connect://proxy:3128?ca=/x', /unknown parameter "ca"/],
    ['http-connect+unix://', /three slashes/],
  ])('rejects %s with ERR_BAD_URI and the accepted forms', (uri, why) => {
    let err: unknown;
    try {
      registry.create(uri, context);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('ERR_BAD_URI');
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toMatch(/Accepted forms/);
  });
});
