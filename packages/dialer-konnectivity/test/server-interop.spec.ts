import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpokeError } from '@spoke/transport-core';
import {
  closed,
  createHangingTarget,
  readAll,
  readDigest,
  serveTcp,
  waitFor,
  writeBytes,
  type ServedTarget,
} from '@spoke/transport-core/testing';
import { createKonnectivityAgent, createKonnectivityDialer, type KonnectivityAgent, type KonnectivityServer } from '../src/index.js';
import { ourAgent, ourServer } from './our-peers.js';
import { createTestPki, removePki, startUpstreamAgent, waitForHttp, type Proc, type TestPki } from './upstream/harness.js';
import { runGoClient } from './upstream/go-client.js';
import { addr, serveLineUpper } from './targets.js';

const MiB = 1024 * 1024;

describe.each(['grpc', 'http-connect'] as const)('Go client → our server (%s, UDS) → our agent', (mode) => {
  let pki: TestPki;
  let server: KonnectivityServer;
  let agent: KonnectivityAgent;
  let uds: string;
  const targets: ServedTarget[] = [];

  beforeAll(async () => {
    pki = createTestPki();
    uds = join(pki.dir, 'k.sock');
    server = await ourServer(pki, mode, uds);
    agent = ourAgent(pki, server.ports.agent);
    await waitForHttp(`http://127.0.0.1:${server.ports.health}/readyz`, 200);
  });

  afterAll(async () => {
    agent?.destroy();
    await Promise.all(targets.map((t) => t.close()));
    server?.destroy();
    removePki(pki);
  });

  it("carries upstream's Go client to the target", async () => {
    const t = await serveLineUpper();
    targets.push(t);
    const r = await runGoClient(['-mode', mode, '-uds', uds, '-target', addr(t)], 'from go via spoke\n');
    expect(r.stderr).toContain('CONNECTED');
    expect(r.stdout.toString()).toBe('FROM GO VIA SPOKE\n');
  });

  it('carries our client, 8 MiB down, with upstream metric names on /metrics', async () => {
    let pushed: Promise<{ bytes: number; sha256: string }> | undefined;
    const t = await serveTcp((s) => {
      s.on('error', () => {});
      s.resume();
      pushed = writeBytes(s, 8 * MiB);
    });
    targets.push(t);
    const dialer = createKonnectivityDialer({ mode, uds });
    const s = await dialer.dial(addr(t), { signal: AbortSignal.timeout(10_000) });
    expect(await readDigest(s)).toEqual(await pushed);
    await dialer.close();
    const text = await (await fetch(`http://127.0.0.1:${server.ports.health}/metrics`)).text();
    for (const name of ['ready_backend_connections', 'pending_backend_dials', 'established_connections', 'dial_failure_count']) {
      expect(text).toContain(`konnectivity_network_proxy_server_${name}`);
    }
  });

  it("reports the Go client's refused target as the agent's error", async () => {
    const r = await runGoClient(['-mode', mode, '-uds', uds, '-target', '127.0.0.1:1'], '');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/connection refused/);
  });
});

describe('our server (HTTP-CONNECT) without agents', () => {
  it("answers upstream's exact 500 reply", async () => {
    const pki = createTestPki();
    const uds = join(pki.dir, 'k.sock');
    const server = await ourServer(pki, 'http-connect', uds);
    try {
      const sock = net.connect(uds);
      sock.write('CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n');
      const text = (await readAll(sock)).toString();
      expect(text.startsWith('HTTP/1.1 500 Internal Server Error\r\n')).toBe(true);
      expect(text).toContain('Content-Type: text/plain\r\n');
      expect(text).toContain('currently no tunnels available: No agent available');
      const ready = await fetch(`http://127.0.0.1:${server.ports.health}/readyz`);
      expect(ready.status).toBe(500);
      expect(await ready.text()).toBe('no connection to any proxy agent');
    } finally {
      server.destroy();
      removePki(pki);
    }
  });
});

describe('our server (gRPC, UDS) ↔ upstream Go agent', () => {
  let pki: TestPki;
  let server: KonnectivityServer;
  let agent: { proc: Proc };

  beforeAll(async () => {
    pki = createTestPki();
    // Token auth, as the Go agent's --service-account-token-path sends it (the file must not end in a newline).
    server = await ourServer(pki, 'grpc', join(pki.dir, 'k.sock'), { clusterCaCert: undefined, agentTokens: ['go-agent-token'] });
    writeFileSync(join(pki.dir, 'go-token'), 'go-agent-token');
    const tokenArg = `--service-account-token-path=${join(pki.dir, 'go-token')}`;
    agent = await startUpstreamAgent({ agentPort: server.ports.agent, pki, agentId: 'go-agent', extraArgs: [tokenArg] });
    await waitForHttp(`http://127.0.0.1:${server.ports.health}/readyz`, 200, agent.proc);
  });

  afterAll(async () => {
    await agent?.proc.kill();
    server?.destroy();
    removePki(pki);
  });

  it('carries our client through the Go agent', async () => {
    const t = await serveLineUpper();
    const dialer = createKonnectivityDialer({ mode: 'grpc', uds: join(pki.dir, 'k.sock') });
    try {
      const s = await dialer.dial(addr(t), { signal: AbortSignal.timeout(10_000) });
      s.write('through go agent\n');
      expect((await readAll(s)).toString()).toBe('THROUGH GO AGENT\n');
      const err = await dialer.dial('127.0.0.1:1', { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_DIAL_REFUSED');
    } finally {
      await dialer.close();
      await t.close();
    }
  });
});

describe('our server: better than upstream', () => {
  let pki: TestPki;
  let server: KonnectivityServer;
  let agent: KonnectivityAgent;
  let uds: string;

  beforeAll(async () => {
    pki = createTestPki();
    uds = join(pki.dir, 'k.sock');
    server = await ourServer(pki, 'grpc', uds, { maxFrontendQueue: 256 * 1024, frontendStallTimeoutMs: 300 });
    agent = ourAgent(pki, server.ports.agent, { dialTimeoutMs: 120_000 });
    await waitForHttp(`http://127.0.0.1:${server.ports.health}/readyz`, 200);
  });

  afterAll(() => {
    agent?.destroy();
    server?.destroy();
    removePki(pki);
  });

  it('closes a front end that stops reading, alone, while another connection of the same agent keeps working', async () => {
    const bulk = await serveTcp((s) => {
      s.on('error', () => {});
      void writeBytes(s, 256 * MiB).catch(() => undefined);
    });
    const chat = await serveLineUpper();
    const dialer = createKonnectivityDialer({ mode: 'grpc', uds });
    try {
      const slow = await dialer.dial(addr(bulk));
      slow.pause();
      const slowClosed = closed(slow);
      const err = await slowClosed;
      expect(err).toBeInstanceOf(SpokeError);
      const s = await dialer.dial(addr(chat));
      s.write('still fine\n');
      expect((await readAll(s)).toString()).toBe('STILL FINE\n');
      expect(server.metrics()).toMatch(/stalled_frontend_closes_total [1-9]/);
    } finally {
      await dialer.close();
      await bulk.close();
      await chat.close();
    }
  });

  it('fails a pending dial as soon as its agent goes away', async () => {
    const hanging = await createHangingTarget();
    const dialer = createKonnectivityDialer({ mode: 'grpc', uds });
    try {
      const pending = dialer.dial(hanging.target);
      await waitFor(() => /pending_backend_dials 1/.test(server.metrics()), 'the dial to be pending');
      agent.destroy();
      const err = await pending.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect(server.metrics()).toMatch(/dial_failure_count\{reason="backend_close"\} 1/);
      expect(server.metrics()).toMatch(/pending_backend_dials 0/);
    } finally {
      await dialer.close();
      await hanging.close();
    }
  });
});

describe('our server: static agent tokens', () => {
  it('accepts an agent whose token file matches (re-read on connect) and rejects a wrong one with ERR_AUTH_FAILED', async () => {
    const pki = createTestPki();
    const server = await ourServer(pki, 'grpc', join(pki.dir, 'k.sock'), { clusterCaCert: undefined, agentTokens: ['s3cret-token'] });
    const good = join(pki.dir, 'good-token');
    const bad = join(pki.dir, 'bad-token');
    writeFileSync(good, 's3cret-token\n');
    writeFileSync(bad, 'wrong');
    const logs: string[] = [];
    const ok = createKonnectivityAgent({ proxyServerPort: server.ports.agent, caCert: pki.caPem, serviceAccountTokenPath: good });
    const nope = createKonnectivityAgent({
      proxyServerPort: server.ports.agent,
      caCert: pki.caPem,
      serviceAccountTokenPath: bad,
      log: (m) => logs.push(m),
    });
    try {
      await waitFor(() => ok.servers().length === 1, 'the agent with the right token to connect');
      await waitFor(() => logs.some((l) => /rejected our credentials/.test(l)), 'the wrong token to be refused');
      expect(nope.servers()).toEqual([]);
      expect(server.agents).toBe(1);
    } finally {
      ok.destroy();
      nope.destroy();
      server.destroy();
      removePki(pki);
    }
  });
});
