import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, type Frame } from '@spoke/transport-core/protocol';
import { rawHello } from '@spoke/transport-core/testing';
import { echoThrough, startHubRig, type HubRig } from './support/hub-rig.js';
import { rawWebSocket, wsFrame } from './support/raw-ws.js';
import { MiB, closedWithin, during, fdsBackTo, mib, sample } from './support/victim.js';

// Issue 17 #1, played against the real `spoke hub`: an authenticated peer that reads nothing and keeps
// sending frames the session must answer (PING → PONG, a bad DIAL → DIAL_ERR). Before the fix the hub
// grew by ~900 MB in 16 s from one such connection and never dropped it. The bound: the hub cuts the
// attacker within seconds (1 MiB of unread control replies, then GOAWAY ERR_FLOW_CONTROL), its RSS
// stays within RSS_BOUND of where it started, its descriptors return to baseline, and a legitimate
// client's echo works during and after the attack.

/**
 * The hub's growth we accept while one attacker floods: the backlog bound, socket buffers and GC slack.
 * Measured +49 MiB on an idle machine and up to +97 MiB with a CPU-starved GC on a loaded one; the
 * unbounded hub grew ~900 MB, so 192 MiB still tells the two apart.
 */
const RSS_BOUND = 192 * MiB;
/** How long the hub may take to end the attacker once it floods (the attacker stops after this anyway). */
const CUT_BOUND_MS = 25_000;

/** Sends `frame` in a loop, never reading, until the hub closes the connection or `boundMs` passes; resolves with the frames sent. */
async function flood(socket: tls.TLSSocket, frame: (i: number) => Frame, boundMs: number): Promise<number> {
  const deadline = performance.now() + boundMs;
  let sent = 0;
  while (!socket.destroyed && performance.now() < deadline) {
    // 1,000 frames a write, as a flooding client batches them.
    const batch = Buffer.concat(Array.from({ length: 1000 }, (_, i) => wsFrame(encodeFrame(frame(sent + i)), true)));
    sent += 1000;
    if (!socket.write(batch))
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.once('close', done);
        setTimeout(done, Math.max(0, deadline - performance.now()));
      });
  }
  return sent;
}

describe('adversarial: a non-reading peer floods control frames at spoke hub (issue 17 #1)', () => {
  let rig: HubRig;
  beforeAll(async () => {
    rig = await startHubRig();
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it.each([
    ['PING', (i: number): Frame => ({ type: 'PING', nonce: i })],
    ['bad DIAL', (i: number): Frame => ({ type: 'DIAL', stream: 2 * i + 1, target: 'no port here' })],
  ])('%s flood from a client that reads nothing: cut within bounds, RSS bounded, fds back, echo flows', async (_name, frame) => {
    expect(await echoThrough(rig, 'before')).toMatchObject({ code: 0, stdout: 'before' });
    const base = sample(rig.hub);
    const attacker = await rawWebSocket(rig.address, '/v1/client', rig.clientToken);
    attacker.write(wsFrame(encodeFrame(rawHello({ id: 'attacker' })), true));
    // From here on the attacker takes none of the hub's bytes: they pile up in the hub.
    attacker.pause();
    const cut = closedWithin(attacker, CUT_BOUND_MS + 5_000, 'the attacker');
    const {
      result: sent,
      peakRss,
      cpuMs,
    } = await during(rig.hub, async () => {
      const [count] = await Promise.all([flood(attacker, frame, CUT_BOUND_MS), echoThrough(rig, 'during')]);
      return count;
    });
    const cutAfterMs = await cut;
    console.log(
      `control flood (${_name}): ${sent} frames, cut after ${Math.round(cutAfterMs)} ms, RSS ${mib(base.rss)} → peak ${mib(peakRss)}, CPU ${cpuMs} ms`,
    );

    expect(attacker.destroyed).toBe(true);
    expect(cutAfterMs).toBeLessThan(CUT_BOUND_MS);
    expect(peakRss - base.rss).toBeLessThan(RSS_BOUND);
    await fdsBackTo(rig.hub, base.fds, 2);
    expect(await echoThrough(rig, 'after')).toMatchObject({ code: 0, stdout: 'after' });
    // The hub's agent session was never touched.
    expect(rig.hub.stderr).not.toMatch(/agent disconnected/);
  });

  it('the same flood from a peer that registered as an agent is logged with ERR_FLOW_CONTROL', async () => {
    const from = rig.hub.stderr.length;
    const attacker = await rawWebSocket(rig.address, '/v1/agent', rig.agentToken);
    attacker.write(wsFrame(encodeFrame(rawHello({ id: 'rogue-flooder' })), true));
    attacker.pause();
    await rig.hub.stderrMatch(/agent connected.*agent=rogue-flooder/, from);
    const cut = closedWithin(attacker, CUT_BOUND_MS + 5_000, 'the attacker');
    await flood(attacker, (i) => ({ type: 'PING', nonce: i }), CUT_BOUND_MS);
    expect(await cut).toBeLessThan(CUT_BOUND_MS);
    await rig.hub.stderrMatch(/agent disconnected.*agent=rogue-flooder.*ERR_FLOW_CONTROL/, from);
    expect(await echoThrough(rig, 'still')).toMatchObject({ code: 0, stdout: 'still' });
  });
});
