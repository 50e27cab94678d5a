import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readAll, waitFor } from '@spoke/transport-core/testing';
import type { createKonnectivityServer } from '../src/index.js';
import { createKonnectivityAgent, createKonnectivityDialer, type KonnectivityAgent, type KonnectivityServer } from '../src/index.js';
import { ourTcpServer } from './our-peers.js';
import { createTestPki, removePki, type TestPki } from './upstream/harness.js';
import { goMtlsConnectArgs, runGoClient } from './upstream/go-client.js';
import { addr, serveLineUpper } from './targets.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(
  pki: TestPki,
  mode: 'grpc' | 'http-connect',
  extra: Partial<Parameters<typeof createKonnectivityServer>[0]> = {},
): Promise<KonnectivityServer> {
  const s = await ourTcpServer(pki, mode, extra);
  cleanups.push(() => s.destroy());
  return s;
}

function agent(pki: TestPki, port: number): KonnectivityAgent {
  const a = createKonnectivityAgent({
    proxyServerPort: port,
    caCert: pki.caPem,
    agentCert: pki.clientCertPem,
    agentKey: pki.clientKeyPem,
    syncIntervalMs: 50,
  });
  cleanups.push(() => a.destroy());
  return a;
}

function setup(): TestPki {
  const pki = createTestPki();
  cleanups.push(() => removePki(pki));
  return pki;
}

describe('our server over mTLS TCP front ends', () => {
  it.each(['grpc', 'http-connect'] as const)(
    '%s: carries our client (mTLS) to the target, and refuses a client without a certificate',
    async (mode) => {
      const pki = setup();
      const s = await server(pki, mode);
      const a = agent(pki, s.ports.agent);
      await waitFor(() => a.servers().length === 1, 'agent connected');
      const t = await serveLineUpper();
      cleanups.push(() => t.close());
      const tls = { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem };
      const dialer = createKonnectivityDialer({ mode, url: `127.0.0.1:${s.ports.server}`, tls });
      cleanups.push(() => dialer.close());
      const sock = await dialer.dial(addr(t), { signal: AbortSignal.timeout(10_000) });
      sock.write('over tcp\n');
      expect((await readAll(sock)).toString()).toBe('OVER TCP\n');

      const anonymous = createKonnectivityDialer({ mode, url: `127.0.0.1:${s.ports.server}`, tls: { ca: pki.caPem } });
      cleanups.push(() => anonymous.close());
      const err = await anonymous.dial(addr(t), { timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(['ERR_AUTH_FAILED', 'ERR_TUNNEL_CLOSED', 'ERR_STREAM_RESET']).toContain((err as { code?: string }).code);
    },
  );

  it("http-connect: carries upstream's Go CONNECT client over mTLS", async () => {
    const pki = setup();
    const s = await server(pki, 'http-connect');
    const a = agent(pki, s.ports.agent);
    await waitFor(() => a.servers().length === 1, 'agent connected');
    const t = await serveLineUpper();
    cleanups.push(() => t.close());
    const r = await runGoClient(goMtlsConnectArgs(pki, s.ports.server, addr(t)), 'go over tls\n');
    expect(r.stdout.toString()).toBe('GO OVER TLS\n');
  });
});

describe('agent sync loop behind a load balancer', () => {
  it('connects to servercount distinct servers behind one address', async () => {
    const pki = setup();
    const one = await server(pki, 'grpc', { serverId: 'one', serverCount: 2 });
    const two = await server(pki, 'grpc', { serverId: 'two', serverCount: 2 });
    // A round-robin TCP balancer in front of both agent ports.
    let n = 0;
    const sockets = new Set<net.Socket>();
    const lb = net.createServer((c) => {
      const up = net.connect((n++ % 2 === 0 ? one : two).ports.agent, '127.0.0.1');
      for (const s of [c, up]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      }
      c.pipe(up).pipe(c);
    });
    await new Promise<void>((r) => lb.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      lb.close();
    });
    const a = agent(pki, (lb.address() as net.AddressInfo).port);
    await waitFor(() => a.servers().length === 2, 'the agent to reach both servers');
    expect(a.servers().sort()).toEqual(['one', 'two']);
    expect(a.serverCount).toBe(2);
    expect(one.agents + two.agents).toBe(2);
  });
});
