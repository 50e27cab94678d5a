import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpokeError, type Dialer } from '@spoke/transport-core';
import { closedTcpPort, readAll, waitFor } from '@spoke/transport-core/testing';
import { createKonnectivityAgent, createKonnectivityDialer, type KonnectivityAgent } from '../src/index.js';
import { createTestPki, removePki, startUpstreamServer, waitForHttp, type Proc, type TestPki } from './upstream/harness.js';
import { runGoClient } from './upstream/go-client.js';
import { expectConcurrentDials, expectDestroyClosesTarget, expectDownloadDigest, expectUploadDigest } from './carry-cases.js';
import { serveLineUpper, servedTargets } from './targets.js';

const MiB = 1024 * 1024;

describe.each(['grpc', 'http-connect'] as const)('upstream proxy-server (%s, UDS) ↔ our agent (mTLS)', (mode) => {
  let pki: TestPki;
  let server: { proc: Proc; ports: { healthPort: number; agentPort: number } };
  let agent: KonnectivityAgent;
  let dialer: Dialer;
  let uds: string;
  const { serve, close: closeTargets } = servedTargets();

  beforeAll(async () => {
    pki = createTestPki();
    uds = join(pki.dir, 'k.sock');
    // --cluster-ca-cert makes upstream require and verify our agent's client certificate.
    server = await startUpstreamServer({ mode, pki, uds, extraArgs: [`--cluster-ca-cert=${pki.ca}`] });
    agent = createKonnectivityAgent({
      proxyServerHost: '127.0.0.1',
      proxyServerPort: server.ports.agentPort,
      caCert: pki.caPem,
      agentCert: pki.clientCertPem,
      agentKey: pki.clientKeyPem,
      agentId: 'spoke-agent-1',
      agentIdentifiers: 'host=localhost&ipv4=127.0.0.1',
      allow: ['127.0.0.0/8'],
      healthServerPort: 0,
      healthServerHost: '127.0.0.1',
    });
    await waitForHttp(`http://127.0.0.1:${server.ports.healthPort}/readyz`, 200, server.proc);
    // The server registers the agent before the agent has read the response headers.
    await waitFor(() => agent.servers().length === 1, 'the agent to read serverid/servercount');
    dialer = createKonnectivityDialer({ mode, uds, endGraceMs: 200 });
  });

  afterAll(async () => {
    await dialer?.close();
    agent?.destroy();
    await closeTargets();
    await server?.proc.stop();
    removePki(pki);
  });

  it('registers with upstream under its agent id and reads serverid/servercount', () => {
    expect(agent.servers()).toEqual(['upstream-server-1']);
    expect(agent.serverCount).toBe(1);
    expect(server.proc.output()).toContain('spoke-agent-1');
  });

  it('serves /healthz, /readyz and agent metrics', async () => {
    const port = await agent.health;
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toBe('ok\n');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain(
      'konnectivity_network_proxy_agent_open_server_connections 1',
    );
  });

  it("serves upstream's Go client (konnectivity-client library / Go CONNECT)", async () => {
    const target = await serve(serveLineUpper());
    const r = await runGoClient(['-mode', mode, '-uds', uds, '-target', target], 'from go\n');
    expect(r.stderr).toContain('CONNECTED');
    expect(r.stdout.toString()).toBe('FROM GO\n');
  });

  it('serves our client: request and answer', async () => {
    const target = await serve(serveLineUpper());
    const s = await dialer.dial(target, { signal: AbortSignal.timeout(10_000) });
    s.write('hello agent\n');
    expect((await readAll(s)).toString()).toBe('HELLO AGENT\n');
  });

  it('moves 8 MiB each way with matching sha256', async () => {
    await expectUploadDigest(dialer, serve, 8 * MiB);
    await expectDownloadDigest(dialer, serve, 8 * MiB);
  });

  it('runs 20 concurrent connections', async () => {
    await expectConcurrentDials(dialer, serve, 20);
  });

  it('closes the destination when the client destroys the stream', async () => {
    await expectDestroyClosesTarget(dialer, serve);
  });

  it('answers a refused destination with Go error text (ERR_DIAL_REFUSED)', async () => {
    const err = await dialer.dial(await closedTcpPort(), { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_DIAL_REFUSED');
  });

  it('refuses destinations outside its allow list (ERR_DIAL_DENIED)', async () => {
    const err = await dialer.dial('192.0.2.1:80', { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_DIAL_DENIED');
  });

  it('reconnects after its server restarts, and close() leaves the server without agents', async () => {
    expect(agent.servers().length).toBe(1);
    const lost = once(agent, 'server-lost');
    const back = once(agent, 'server');
    await server.proc.kill();
    await lost;
    server = await startUpstreamServer({
      mode,
      pki,
      uds,
      extraArgs: [`--cluster-ca-cert=${pki.ca}`, `--agent-port=${server.ports.agentPort}`],
    });
    await back;
    await agent.close({ timeoutMs: 2000 });
    expect(agent.servers()).toEqual([]);
    await waitForHttp(`http://127.0.0.1:${server.ports.healthPort}/readyz`, 500, server.proc);
  });
});
