import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError, type Dialer } from '@spoke/transport-core';
import { closed, readExactly, serveTcp, type ServedTarget } from '@spoke/transport-core/testing';
import { createKonnectivityDialer } from '../src/index.js';
import {
  createTestPki,
  removePki,
  startUpstreamAgent,
  startUpstreamServer,
  waitForHttp,
  type Proc,
  type TestPki,
} from './upstream/harness.js';
import { addr } from './targets.js';

describe.each(['grpc', 'http-connect'] as const)('our client against upstream proxy-server failures (%s over UDS)', (mode) => {
  let pki: TestPki | undefined;
  const procs: Proc[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    for (const p of procs.splice(0)) await p.kill();
    removePki(pki);
  });

  const setup = async (): Promise<{ dialer: Dialer; agentPort: number; healthPort: number }> => {
    pki = createTestPki();
    const uds = join(pki.dir, 'k.sock');
    const server = await startUpstreamServer({ mode, pki, uds });
    procs.push(server.proc);
    const dialer = createKonnectivityDialer({ mode, uds, endGraceMs: 200 });
    cleanups.push(() => dialer.close());
    return { dialer, agentPort: server.ports.agentPort, healthPort: server.ports.healthPort };
  };

  it('fails with ERR_NO_ROUTE when no agent is connected', async () => {
    const { dialer } = await setup();
    const err = await dialer.dial('127.0.0.1:9', { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_NO_ROUTE');
    expect((err as SpokeError).message).toMatch(/proxy-agent/);
  });

  it('ends an open connection when its agent is killed mid-stream', async () => {
    const { dialer, agentPort, healthPort } = await setup();
    const agent = await startUpstreamAgent({ agentPort, pki: pki as TestPki });
    procs.push(agent.proc);
    await waitForHttp(`http://127.0.0.1:${healthPort}/readyz`, 200);
    const target: ServedTarget = await serveTcp((t) => {
      t.on('error', () => {});
      t.on('end', () => t.end());
      t.write('x');
    });
    cleanups.push(() => target.close());
    const s = await dialer.dial(addr(target), { timeoutMs: 10_000 });
    await readExactly(s, 1);
    const done = closed(s);
    s.resume();
    await agent.proc.kill();
    const err = await done;
    // Upstream's server tells the front end with CLOSE_RSP (a clean end) or drops the stream (a reset).
    if (err) expect(['ERR_STREAM_RESET', 'ERR_TUNNEL_CLOSED']).toContain((err as SpokeError).code);
    expect(s.destroyed).toBe(true);
  });
});
