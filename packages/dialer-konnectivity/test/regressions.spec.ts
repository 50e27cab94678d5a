import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAbortError, type Dialer } from '@spoke/transport-core';
import { closedTcpPort, createHangingTarget, readAll, serveTcp, waitFor, type ServedTarget } from '@spoke/transport-core/testing';
import { createKonnectivityDialer, type KonnectivityAgent, type KonnectivityServer } from '../src/index.js';
import { ourAgent, ourServer } from './our-peers.js';
import { createTestPki, removePki, startUpstreamAgent, startUpstreamServer, waitForHttp, type Proc, type TestPki } from './upstream/harness.js';
import { addr } from './targets.js';

/** TCP connects under way in this process (the in-process agent's dials). */
const connecting = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPConnectWrap' || r === 'ConnectWrap').length;

// Bugs the compliance suite found (test/compliance.spec.ts), pinned one by one.

/** Answers each request chunk with `parts` pieces, one per `everyMs`, then closes. */
function serveSlowAnswer(parts: number, everyMs: number): Promise<ServedTarget> {
  return serveTcp((s) => {
    s.once('data', (req: Buffer) => {
      let n = 0;
      const timer = setInterval(() => {
        s.write(`${req.toString()}#${n}|`);
        if (++n === parts) {
          clearInterval(timer);
          s.end();
        }
      }, everyMs);
      s.once('close', () => clearInterval(timer));
    });
  });
}

const expected = (req: string, parts: number): string => Array.from({ length: parts }, (_, i) => `${req}#${i}|`).join('');

describe.each(['grpc', 'http-connect'] as const)('end() before the answer, through upstream proxy-server and proxy-agent (%s)', (mode) => {
  let pki: TestPki;
  let server: { proc: Proc };
  let agent: { proc: Proc };
  let dialer: Dialer;
  const targets: ServedTarget[] = [];

  beforeAll(async () => {
    pki = createTestPki();
    const uds = join(pki.dir, 'k.sock');
    const s = await startUpstreamServer({ mode, pki, uds });
    server = s;
    agent = await startUpstreamAgent({ agentPort: s.ports.agentPort, pki });
    await waitForHttp(`http://127.0.0.1:${s.ports.healthPort}/readyz`, 200, s.proc);
    dialer = createKonnectivityDialer({ mode, uds, endGraceMs: 300 });
  });

  afterAll(async () => {
    await dialer?.close();
    await Promise.all(targets.map((t) => t.close()));
    await agent?.proc.kill();
    await server?.proc.stop();
    removePki(pki);
  });

  // HTTP-CONNECT used to send our FIN at once; the server then closed the
  // connection both ways and the answer was lost ('' instead of the echo).
  it('still gets the answer to a request sent with end()', async () => {
    const t = await serveSlowAnswer(1, 1);
    targets.push(t);
    const s = await dialer.dial(addr(t));
    s.end('ping');
    expect((await readAll(s)).toString()).toBe(expected('ping', 1));
  });

  // The grace after end() used to be a fixed timer: an answer still arriving
  // after endGraceMs was cut off by our CLOSE_REQ.
  it('keeps reading an answer that lasts longer than endGraceMs', async () => {
    const t = await serveSlowAnswer(12, 100);
    targets.push(t);
    const s = await dialer.dial(addr(t));
    s.end('slow');
    expect((await readAll(s)).toString()).toBe(expected('slow', 12));
  });
});

describe('our server forwards DIAL_CLS of an aborted pending dial to the agent', () => {
  let pki: TestPki;
  let server: KonnectivityServer;
  let agent: KonnectivityAgent;

  beforeAll(async () => {
    pki = createTestPki();
    server = await ourServer(pki, 'grpc', join(pki.dir, 'k.sock'));
    // A dial timeout far beyond the test's deadline: only DIAL_CLS can free the socket in time.
    agent = ourAgent(pki, server.ports.agent, { dialTimeoutMs: 120_000 });
    await waitForHttp(`http://127.0.0.1:${server.ports.health}/readyz`, 200);
  });

  afterAll(async () => {
    await agent?.close();
    await server?.close();
    removePki(pki);
  });

  // It used to forget the dial itself only, so the agent's connect ran on until its own dial timeout.
  it("releases the agent's connecting socket at once", async () => {
    const hanging = await createHangingTarget();
    const refused = await closedTcpPort();
    const dialer = createKonnectivityDialer({ mode: 'grpc', uds: join(pki.dir, 'k.sock') });
    try {
      // A first (refused) dial opens the dialer's own connection, so the count below is the agent's alone.
      await dialer.dial(refused).catch(() => undefined);
      const before = connecting();
      const ac = new AbortController();
      const pending = dialer.dial(hanging.target, { signal: ac.signal });
      await waitFor(() => connecting() > before, 'the agent to start connecting');
      ac.abort();
      expect(isAbortError(await pending.catch((e: unknown) => e))).toBe(true);
      await waitFor(() => connecting() <= before, "the agent's connect to be cancelled", 3000);
    } finally {
      await dialer.close();
      await hanging.close();
    }
  });
});
