import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpokeError, createMemoryDialer, type Dialer } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { readAll, readExactly } from '@spoke/transport-core/testing';
import type { EgressSelection } from '@spoke/transport-core/egress';
import { createEgressSelector, createTlsDialer, parseEgressSelectorConfiguration } from '../src/index.js';
import { startConnectProxy, type TestProxy } from './support/connect-proxy.js';
import { startBannerServer } from './support/servers.js';

const head = 'apiVersion: apiserver.k8s.io/v1beta1\nkind: EgressSelectorConfiguration\negressSelections:\n';

async function greeting(dialer: Dialer, target: string): Promise<string> {
  const s: Duplex = await dialer.dial(target, { timeoutMs: 10_000 });
  const banner = (await readExactly(s, 7)).toString();
  s.end();
  const rest = readAll(s);
  s.resume();
  await rest;
  return banner;
}

describe('createEgressSelector', () => {
  let dir: string;
  let target: { address: string; close(): Promise<void> };
  let udsProxy: TestProxy;
  let tlsProxy: TestProxy;
  const proxyCa = createCertificateAuthority({ commonName: 'konnectivity CA' });
  const serving = proxyCa.issue({ commonName: 'konnectivity-server', altNames: ['konnectivity-server'], usages: ['server'] });
  const client = proxyCa.issue({ commonName: 'system:konnectivity-server-client', usages: ['client'] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spoke-egress-'));
    target = await startBannerServer('BANNER\n');
    udsProxy = await startConnectProxy({ path: join(dir, 'konnectivity-server.socket') });
    tlsProxy = await startConnectProxy({
      tls: { cert: serving.cert, key: serving.key, ca: proxyCa.cert, requestCert: true, rejectUnauthorized: true },
    });
    await writeFile(join(dir, 'ca.crt'), proxyCa.cert);
    await writeFile(join(dir, 'client.crt'), client.cert);
    await writeFile(join(dir, 'client.key'), client.key);
  });
  afterAll(async () => {
    await udsProxy?.close();
    await tlsProxy?.close();
    await target?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('dials directly without a configuration, and for names the file does not mention', async () => {
    expect(createEgressSelector(undefined).dialerFor('cluster').kind).toBe('net');
    const config = parseEgressSelectorConfiguration(`${head}- name: etcd\n  connection:\n    proxyProtocol: Direct\n`);
    const selector = createEgressSelector(config);
    expect(await greeting(selector.dialerFor('cluster'), target.address)).toBe('BANNER\n');
    await selector.close();
  });

  it('uses the direct backend for Direct (e.g. a TLS dialer for TLS to the target)', () => {
    const config = parseEgressSelectorConfiguration(`${head}- name: controlplane\n  connection:\n    proxyProtocol: Direct\n`);
    const selector = createEgressSelector(config, { direct: () => createTlsDialer({ ca: proxyCa.cert }) });
    expect(selector.dialerFor('master').kind).toBe('tls');
    expect(selector.dialerFor('controlplane')).toBe(selector.dialerFor('master'));
  });

  it('runs HTTPConnect over the unix socket named by udsName', async () => {
    const config = parseEgressSelectorConfiguration(
      `${head}- name: cluster\n  connection:\n    proxyProtocol: HTTPConnect\n    transport:\n      uds:\n        udsName: ${join(dir, 'konnectivity-server.socket')}\n`,
    );
    const selector = createEgressSelector(config);
    expect(await greeting(selector.dialerFor('cluster'), target.address)).toBe('BANNER\n');
    expect(udsProxy.requests.at(-1)?.url).toBe(target.address);
    await selector.close();
  });

  it('runs HTTPConnect over mTLS to tcp.url with caBundle, clientCert, clientKey and tlsServerName', async () => {
    const config = parseEgressSelectorConfiguration(
      `${head}- name: cluster\n  connection:\n    proxyProtocol: HTTPConnect\n    transport:\n      tcp:\n        url: https://127.0.0.1:${tlsProxy.port}\n        tlsConfig:\n          caBundle: ca.crt\n          clientCert: client.crt\n          clientKey: client.key\n          tlsServerName: konnectivity-server\n`,
      { baseDir: dir },
    );
    const selector = createEgressSelector(config);
    expect(await greeting(selector.dialerFor('cluster'), target.address)).toBe('BANNER\n');
    await selector.close();
  });

  it('hands GRPC selections to the injected Konnectivity backend, and explains what to install without one', () => {
    const config = parseEgressSelectorConfiguration(
      `${head}- name: cluster\n  connection:\n    proxyProtocol: GRPC\n    transport:\n      uds:\n        udsName: /run/konnectivity.sock\n`,
    );
    const err = (() => {
      try {
        createEgressSelector(config).dialerFor('cluster');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_BAD_CONFIG');
    expect((err as SpokeError).message).toContain('@spoke/dialer-konnectivity');
    expect((err as SpokeError).message).toContain('egressSelections[0]');
    const seen: EgressSelection[] = [];
    const fake = createMemoryDialer();
    const selector = createEgressSelector(config, {
      grpc: (selection) => {
        seen.push(selection);
        return fake;
      },
    });
    expect(selector.dialerFor('cluster')).toBe(fake);
    expect(seen[0]?.connection.transport?.uds?.udsName).toBe('/run/konnectivity.sock');
  });

  it('rejects a tcp.url without a port and an unknown selection name', () => {
    const config = parseEgressSelectorConfiguration(
      `${head}- name: cluster\n  connection:\n    proxyProtocol: HTTPConnect\n    transport:\n      tcp:\n        url: http://proxy.example\n`,
    );
    expect(() => createEgressSelector(config).dialerFor('cluster')).toThrow(
      /egressSelections\[0\]\.connection\.transport\.tcp\.url: .*has no port/,
    );
    expect(() => createEgressSelector(config).dialerFor('nodes' as 'cluster')).toThrow(/Unknown egress selection "nodes"/);
  });
});
