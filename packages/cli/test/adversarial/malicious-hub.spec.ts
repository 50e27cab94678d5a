import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '@spoke/transport-core/protocol';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { startCli, type CliProcess } from '../support/cli-process.js';
import { startTcpServer, type Served } from '../support/servers.js';
import { startFakeHub, type AgentLink, type FakeHub } from './support/fake-hub.js';
import { MiB, during, fdsBackTo, mib, sample } from './support/victim.js';

// A malicious hub against the real `spoke agent` (not tried in issue 17's review): the hub the agent
// verified turns hostile. It floods DIALs for targets outside --allow (every other spelling of a denied
// address, unix sockets), opens thousands of streams to the allowed target, stops reading while it
// makes the agent answer, and sends oversized and malformed frames. The bounds: --allow holds (every
// denied DIAL is answered ERR_DIAL_DENIED and the denied server sees no connection), the agent's RSS
// stays within RSS_BOUND, the denials do not flood its log, a hub that does not read is cut, each bad frame ends only that session, the
// agent's fds return to baseline when the session ends, and the agent keeps reconnecting.

const RSS_BOUND = 128 * MiB;
const DENIED_DIALS = 10_000;
const ALLOWED_STREAMS = 2_000;

/** Spellings of denied targets an agent allowed only 127.0.0.1:<echo port> must refuse. */
function deniedTargets(allowedPort: number, deniedPort: number, unixPath: string): string[] {
  return [
    `127.0.0.1:${deniedPort}`,
    `[::ffff:127.0.0.1]:${deniedPort}`,
    `[::1]:${allowedPort}`,
    `localhost:${deniedPort}`,
    `127.1:${allowedPort + 1}`,
    `2130706433:${deniedPort}`,
    `0x7f000001:${deniedPort}`,
    `unix:${unixPath}`,
    `127.0.0.2:${allowedPort}`,
  ];
}

describe('adversarial: a malicious hub against spoke agent', () => {
  let dir: string;
  let hub: FakeHub;
  let agent: CliProcess;
  let echo: Served;
  let denied: Served & { accepted: () => number };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-adversarial-hub-'));
    const ca = createCertificateAuthority({ commonName: 'evil hub CA' });
    const serving = ca.issue({ commonName: 'hub', altNames: ['127.0.0.1'], usages: ['server'] });
    hub = await startFakeHub(serving.cert, serving.key);
    echo = await startTcpServer((s) => s.pipe(s));
    let accepted = 0;
    const deniedServer = await startTcpServer((s) => {
      accepted++;
      s.destroy();
    });
    denied = { ...deniedServer, accepted: () => accepted };
    writeFileSync(join(dir, 'ca.crt'), ca.cert);
    writeFileSync(join(dir, 'token'), 'agent-token\n', { mode: 0o600 });
    agent = startCli([
      'agent',
      '--hub',
      `wss://${hub.address}`,
      '--id',
      'node-1',
      '--ca',
      join(dir, 'ca.crt'),
      '--token-file',
      join(dir, 'token'),
      '--allow',
      `127.0.0.1/32:${echo.port}`,
    ]);
  });
  afterAll(async () => {
    await agent?.stop();
    await hub?.close();
    await echo?.close();
    await denied?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The agent's connection the last test saw it make, or its next one. */
  let spare: AgentLink | undefined;
  const nextLink = async (): Promise<AgentLink> => {
    const link = spare ?? (await hub.nextLink());
    spare = undefined;
    return link;
  };

  it(`--allow holds against ${DENIED_DIALS} DIALs for denied targets, and ${ALLOWED_STREAMS} streams to the allowed one stay bounded`, async () => {
    const link = await nextLink();
    const base = sample(agent);
    const from = agent.stderr.length;
    const targets = deniedTargets(echo.port, denied.port, join(dir, 'docker.sock'));
    const isDialAnswer = (f: Frame): boolean => f.type === 'DIAL_ERR' || f.type === 'DIAL_OK';
    const { result, peakRss, cpuMs } = await during(agent, async () => {
      // Even stream ids: the hub is the session's responder.
      for (let i = 0; i < DENIED_DIALS; i++) link.send({ type: 'DIAL', stream: 2 * (i + 1), target: targets[i % targets.length] ?? '' });
      const deniedAnswers = await link.received(isDialAnswer, DENIED_DIALS, 30_000);
      for (let i = 0; i < ALLOWED_STREAMS; i++)
        link.send({ type: 'DIAL', stream: 2 * (DENIED_DIALS + i + 1), target: `127.0.0.1:${echo.port}` });
      const all = await link.received(isDialAnswer, DENIED_DIALS + ALLOWED_STREAMS, 30_000);
      return { deniedAnswers, allowedAnswers: all.slice(DENIED_DIALS) };
    });
    const open = sample(agent);
    console.log(
      `malicious hub: ${DENIED_DIALS} denied DIALs + ${ALLOWED_STREAMS} allowed streams; agent RSS ${mib(base.rss)} → peak ${mib(peakRss)}, ` +
        `fds ${base.fds} → ${open.fds}, CPU ${cpuMs} ms`,
    );
    const codes = result.deniedAnswers.map((f) => (f.type === 'DIAL_ERR' ? f.code : f.type));
    // Denied, or refused past the agent's bound on pending inbound dials (1024); never dialled.
    expect(codes.filter((c) => c !== 'ERR_DIAL_DENIED' && c !== 'ERR_TOO_MANY_STREAMS')).toEqual([]);
    expect(codes.filter((c) => c === 'ERR_DIAL_DENIED').length).toBeGreaterThan(1000);
    expect(denied.accepted()).toBe(0);
    // Logged, but not once per denial: a flood of them must not fill the node's disk (it logged 10,000 lines).
    expect(agent.stderr.slice(from).match(/dial denied/g)?.length ?? 0).toBeLessThanOrEqual(3);
    expect(agent.stderr.slice(from)).toMatch(/dial denied.*code=ERR_DIAL_DENIED/);
    // Past the agent's pending-dial bound some allowed dials may be refused, never served elsewhere.
    expect(result.allowedAnswers.filter((f) => f.type === 'DIAL_OK').length).toBeGreaterThan(0);
    expect(peakRss - base.rss).toBeLessThan(RSS_BOUND);
    // The hub goes away: every stream and target connection goes with it.
    link.socket.destroy();
    await fdsBackTo(agent, base.fds, 2, 15_000);
  });

  it('a hub that stops reading while it makes the agent answer is cut (ERR_FLOW_CONTROL), and the agent reconnects', async () => {
    const link = await nextLink();
    const base = sample(agent);
    const from = agent.stderr.length;
    link.socket.pause();
    const { peakRss } = await during(agent, async () => {
      let nonce = 0;
      const deadline = performance.now() + 20_000;
      while (!link.socket.destroyed && performance.now() < deadline) {
        const ok = link.send({ type: 'PING', nonce: ++nonce });
        if (!ok) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await link.closed;
    });
    await agent.stderrMatch(/hub session ended.*ERR_FLOW_CONTROL/, from);
    expect(peakRss - base.rss).toBeLessThan(RSS_BOUND);
    spare = await hub.nextLink();
  });

  it.each([
    ['an oversized frame (1 MiB message)', Buffer.alloc(MiB, 0)],
    ['a malformed frame (unknown type, bad length)', Buffer.from([0xee, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02])],
  ])('%s ends only that session; the agent reconnects, fds back', async (_name, payload) => {
    const link = await nextLink();
    const base = sample(agent);
    const before = hub.upgrades;
    link.sendMessage(payload);
    await link.closed;
    spare = await hub.nextLink();
    expect(hub.upgrades).toBe(before + 1);
    await fdsBackTo(agent, base.fds, 2);
    expect(agent.child.exitCode).toBeNull();
  });
});
