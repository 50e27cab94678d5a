import { setMaxListeners } from 'node:events';
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { konnectivityEcho, startKonnectivityRig, type KonnectivityRig } from './support/konnectivity-rig.js';
import { MiB, during, fdsBackTo, mib, sample } from './support/victim.js';

// Issue 17 #2, played against the real `spoke konnectivity server`: a peer with no credentials opens
// /AgentService/Connect streams on the agent port, each sending a 4 MiB gRPC message it never ends.
// Before the fix each refused stream was read and buffered (~4 MB each: 83 → 326 MB for 60 streams).
// The bound: every stream is answered UNAUTHENTICATED and reset, the server's RSS grows by less than
// RSS_BOUND for CONNECTIONS × 100 streams × 4 MiB offered (2.4 GiB), its fds return, and a legitimate
// dial through the front end and the agent keeps working.

const CONNECTIONS = 6;
/** The server caps streams per agent connection at 100 (SETTINGS_MAX_CONCURRENT_STREAMS). */
const STREAMS = 100;
const RSS_BOUND = 96 * MiB;

/** One attacker connection: `STREAMS` refused streams, each offering a 4 MiB message; resolves with their gRPC statuses and whether each was reset. */
async function unauthenticatedStreams(port: number, ca: string): Promise<Array<{ status: string | undefined; reset: boolean }>> {
  // Our own client would refuse to queue 400 MiB of writes with its 10 MB default.
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca, maxSessionMemory: 1024 });
  session.on('error', () => {});
  const body = Buffer.alloc(4 * MiB);
  // A message of the largest size, 5 bytes short: a server that reads it holds all of it, waiting for the rest.
  body.writeUInt32BE(body.length, 1);
  const giveUp = AbortSignal.timeout(20_000);
  setMaxListeners(STREAMS + 1, giveUp);
  try {
    return await Promise.all(
      Array.from(
        { length: STREAMS },
        () =>
          new Promise<{ status: string | undefined; reset: boolean }>((resolve) => {
            const stream = session.request({
              ':method': 'POST',
              ':path': '/AgentService/Connect',
              'content-type': 'application/grpc',
              te: 'trailers',
              agentid: 'intruder',
            });
            let status: string | undefined;
            stream.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
            stream.on('error', () => {});
            // We never end our side: only the server's reset closes the stream.
            stream.on('close', () => resolve({ status, reset: true }));
            giveUp.addEventListener('abort', () => resolve({ status, reset: false }), { once: true });
            stream.resume();
            stream.write(body);
          }),
      ),
    );
  } finally {
    session.destroy();
  }
}

describe('adversarial: unauthenticated streams on the Konnectivity agent port (issue 17 #2)', () => {
  let rig: KonnectivityRig;
  beforeAll(async () => {
    rig = await startKonnectivityRig();
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it(`${CONNECTIONS} connections × ${STREAMS} streams × 4 MiB: all refused and reset, RSS bounded, fds back, dials flow`, async () => {
    expect(await konnectivityEcho(rig, 'before')).toMatchObject({ code: 0, stdout: 'before' });
    const base = sample(rig.server);
    const { result, peakRss, cpuMs } = await during(rig.server, async () => {
      const [outcomes, echo] = await Promise.all([
        Promise.all(Array.from({ length: CONNECTIONS }, () => unauthenticatedStreams(rig.agentPort, rig.pem.ca))),
        konnectivityEcho(rig, 'during'),
      ]);
      return { outcomes: outcomes.flat(), echo };
    });
    console.log(
      `agent-port flood: ${result.outcomes.length} streams, RSS ${mib(base.rss)} → peak ${mib(peakRss)}, CPU ${cpuMs} ms, fds ${base.fds}`,
    );
    expect(result.outcomes.filter((o) => o.status === '16' && o.reset)).toHaveLength(CONNECTIONS * STREAMS);
    expect(result.echo).toMatchObject({ code: 0, stdout: 'during' });
    expect(peakRss - base.rss).toBeLessThan(RSS_BOUND);
    // The 600 refused streams leave nothing behind; of the 6 attacking connections (destroyed by the
    // attacker), the server sometimes still holds one or two sockets 30 s later (seen on a clean 2-vCPU
    // run; legitimate dials leave none). Bounded by the connection caps; tracked as an open finding.
    await fdsBackTo(rig.server, base.fds, CONNECTIONS);
    expect(await konnectivityEcho(rig, 'after')).toMatchObject({ code: 0, stdout: 'after' });
    expect(rig.server.stderr).toMatch(/intruder/);
    expect(rig.server.stderr).not.toMatch(/agent node-1 disconnected/);
  });
});
