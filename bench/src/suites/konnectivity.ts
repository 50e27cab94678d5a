import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type Dialer } from '@spoke/transport-core';
import { createSpokeDialer } from '@spoke/hub';
import { createKonnectivityDialer } from '@spoke/dialer-konnectivity';
// The package's own interop harness (no vitest in it): it builds and caches the upstream binaries and starts them.
// It is test code that the package does not publish, so there is no package entry point to import it by name.
// eslint-disable-next-line @nx/enforce-module-boundaries -- a private test harness, reached by path on purpose
import {
  createTestPki,
  removePki,
  startUpstreamAgent,
  startUpstreamServer,
  upstream,
} from '../../../packages/dialer-konnectivity/test/upstream/harness.js';
import { echo, type Opener } from '../client.js';
import { compareThroughput, formatCpu, formatThroughput, singleStream, totalCpu } from '../measure.js';
import { cpuMicros, cpuMicrosOf } from '../memory.js';
import type { BenchOptions } from '../options.js';
import { startChild, type Child } from '../proc.js';
import type { Row, Section } from '../report.js';
import { num, quantile } from '../stats.js';

const MiB = 1024 * 1024;

/**
 * Issue 7: the same client (createKonnectivityDialer, gRPC over a unix socket,
 * as kube-apiserver dials) through upstream's Go proxy-server + proxy-agent and
 * through ours, and the spoke/1 hub path (client → hub → agent over WSS) for
 * comparison. Every server and agent is its own process.
 */
export async function runKonnectivitySuite(o: BenchOptions): Promise<Section[]> {
  const bins = upstream();
  const pki = createTestPki();
  const dir = pki.dir;
  const stops: Array<() => Promise<void>> = [];
  try {
    const target = await startChild('target');
    stops.push(() => target.stop());
    const targetPort = Number(target.info['port']);

    // Upstream Go server + agent, started the way the package's interop tests start them.
    const goUds = join(dir, 'go.sock');
    const goServer = await startUpstreamServer({ mode: 'grpc', uds: goUds, pki });
    stops.push(() => goServer.proc.stop());
    const goAgent = await startUpstreamAgent({ agentPort: goServer.ports.agentPort, pki, agentId: 'bench-go-agent' });
    stops.push(() => goAgent.proc.stop());
    const goPids = { server: goServer.proc.child.pid ?? 0, agent: goAgent.proc.child.pid ?? 0 };

    // Ours.
    const ourUds = join(dir, 'ours.sock');
    const ourServer = await startChild('konnectivity-server', {
      uds: ourUds,
      certPem: pki.serverCertPem,
      keyPem: pki.serverKeyPem,
      caPem: pki.caPem,
    });
    stops.push(() => ourServer.stop());
    const ourAgent = await startChild('konnectivity-agent', {
      port: Number(ourServer.info['agentPort']),
      caPem: pki.caPem,
      certPem: pki.clientCertPem,
      keyPem: pki.clientKeyPem,
    });
    stops.push(() => ourAgent.stop());

    // spoke/1 hub path.
    const token = 'bench-token-0123456789abcdef';
    const hub = await startChild('spoke-hub', { token });
    stops.push(() => hub.stop());
    const hubAgent = await startChild('spoke-agent', { url: hub.info['url'], fingerprint: hub.info['fingerprint'], token });
    stops.push(() => hubAgent.stop());

    const dialers: Record<'go' | 'ours' | 'hub', Dialer> = {
      go: createKonnectivityDialer({ mode: 'grpc', uds: goUds }),
      ours: createKonnectivityDialer({ mode: 'grpc', uds: ourUds }),
      hub: createSpokeDialer({ url: String(hub.info['url']), token, tls: { fingerprint: String(hub.info['fingerprint']) } }),
    };
    stops.push(async () => {
      for (const d of Object.values(dialers)) await d.close().catch(() => {});
    });
    const open =
      (d: Dialer): Opener =>
      () =>
        d.dial({ host: '127.0.0.1', port: targetPort }, { signal: AbortSignal.timeout(30_000) });
    for (const d of Object.values(dialers)) await untilReachable(open(d));

    const cpu = {
      go: async () => ({
        client: cpuMicros(),
        server: cpuMicrosOf(goPids.server),
        agent: cpuMicrosOf(goPids.agent),
        target: await target.cpu(),
      }),
      ours: cpuOfChildren(ourServer, ourAgent, target),
      hub: cpuOfChildren(hub, hubAgent, target),
    };
    const rows: Row[] = [];
    const notes: string[] = [];
    // gRPC paths run at a fraction of the spoke/1 speeds: a quarter of the bulk size keeps the run short.
    const bytes = Math.max(MiB, Math.floor(o.bytes / 4 / MiB) * MiB);
    for (const direction of ['push', 'pull'] as const) {
      const [go, ours, viaHub] = await compareThroughput(
        [
          singleStream('upstream', open(dialers.go), direction, cpu.go),
          singleStream('ours', open(dialers.ours), direction, cpu.ours),
          singleStream('spoke hub', open(dialers.hub), direction, cpu.hub),
        ],
        bytes,
        o.reps,
      );
      if (!go || !ours || !viaHub) throw new Error('missing throughput result');
      rows.push(
        {
          name: `konnectivity bulk ${direction}: our server+agent`,
          baseline: `upstream Go ${formatThroughput(go)}`,
          subject: formatThroughput(ours),
          ratio: ours.mibps / go.mibps,
          goal: { op: '>=', value: 1 },
        },
        {
          name: `konnectivity bulk ${direction}: spoke/1 hub+agent (WSS)`,
          baseline: `upstream Go ${formatThroughput(go)}`,
          subject: formatThroughput(viaHub),
          ratio: viaHub.mibps / go.mibps,
        },
        {
          name: `konnectivity bulk ${direction}: our server+agent, CPU per GiB (lower is better)`,
          baseline: `upstream Go ${num(totalCpu(go))} ms`,
          subject: `${num(totalCpu(ours))} ms`,
          ratio: totalCpu(ours) / totalCpu(go),
        },
      );
      notes.push(`CPU ms per GiB, ${direction}: upstream ${formatCpu(go)}; ours ${formatCpu(ours)}; spoke hub ${formatCpu(viaHub)}`);
    }
    // Dial latency twice: the first dials of servers that have only carried bulk so far (V8 has
    // not yet optimised the dial path), then, after a warm-up, the steady state a long-running
    // server is in, with twice the spoke/1 dial rows' samples (a p99 of 2,000 rests on 20 dials).
    const paths = [open(dialers.go), open(dialers.ours), open(dialers.hub)];
    const cold = await dialSamples(paths, COLD_DIALS);
    await dialSamples(paths, WARMUP_DIALS - COLD_DIALS);
    const samples = o.dialSamples * 2;
    const steady = await dialSamples(paths, samples);
    const us = (v: number): string => `${num(v)} µs`;
    for (const [label, [go, ours, viaHub], goal] of [
      ['', steady, true],
      [`, first ${COLD_DIALS.toLocaleString('en-US')} dials`, cold, false],
    ] as const) {
      for (const [q, ql] of [
        [0.5, 'p50'],
        [0.99, 'p99'],
      ] as const) {
        rows.push(
          {
            name: `konnectivity dial latency ${ql}${label}: our server+agent`,
            baseline: `upstream Go ${us(quantile(go, q))}`,
            subject: us(quantile(ours, q)),
            ratio: quantile(ours, q) / quantile(go, q),
            ...(goal ? { goal: { op: '<=', value: 1 } as const } : {}),
          },
          {
            name: `konnectivity dial latency ${ql}${label}: spoke/1 hub+agent`,
            baseline: `upstream Go ${us(quantile(go, q))}`,
            subject: us(quantile(viaHub, q)),
            ratio: quantile(viaHub, q) / quantile(go, q),
          },
        );
      }
    }
    return [
      {
        title: 'Konnectivity: our server+agent vs upstream Go server+agent, and the spoke/1 hub path',
        rows,
        notes: [
          `client (createKonnectivityDialer, gRPC over a unix socket) → server → agent (mTLS/TLS on loopback) → target, each server and agent its own process; upstream ${bins.dir.split('/').pop() ?? ''}`,
          `${bytes / MiB} MiB per transfer, median of ${o.reps}; dial latency = dial until the stream is usable, sequential, the paths taking turns in blocks of ${DIAL_BLOCK} (lower is better: goal ≤ 1): the first ${COLD_DIALS} dials of each path, then ${WARMUP_DIALS - COLD_DIALS} more unmeasured, then ${samples} measured (the steady state, rows without a suffix)`,
          'spoke hub path: createSpokeDialer (WSS, pinned self-signed certificate, bearer token) → hub → agent (WSS) → target',
          ...notes,
        ],
      },
    ];
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    removePki(pki);
  }
}

function cpuOfChildren(server: Child, agent: Child, target: Child): () => Promise<Record<string, number>> {
  return async () => ({ client: cpuMicros(), server: await server.cpu(), agent: await agent.cpu(), target: await target.cpu() });
}

// Dial, echo one byte, close: retried until the agent is registered (30 s at most).
async function untilReachable(open: Opener): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const s = await open();
      await echo(s).roundTrip(1);
      s.destroy();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Dials per path measured first, while V8 still runs the dial path unoptimised. */
const COLD_DIALS = 1000;
/**
 * Dials per path before the steady-state samples. V8 optimises a function only after it has
 * run a good while, and a dial runs each function of the dial path once or twice. Measured over
 * 2,000 dials per path after W warm-up dials (bench/README.md): our p50 was ×0.95–0.97 of
 * upstream's with W = 20, ×0.87 with 500, ×0.81 with 1,000, ×0.72–0.76 with 2,000–5,000, and
 * ×1.14 with 3,000 but V8's optimising compiler off. Go compiles ahead of time: its p50 moved
 * by under 10 %.
 */
const WARMUP_DIALS = 3000;

/** Dials per path in a row before the next path takes over (see dialSamples). */
const DIAL_BLOCK = 25;

// Sequential dial latencies (dial resolved → stream usable), in µs. Paths take turns in blocks
// of DIAL_BLOCK dials: each dial's teardown (CLOSE_REQ, the stream's end) overlaps the next
// dial, so taking turns dial by dial charged every path with the other paths' teardowns;
// in blocks each path is measured with its own, as a client dialling one server sees it,
// and the turns still spread slow moments of the machine over every path.
async function dialSamples(opens: Opener[], n: number): Promise<[number[], number[], number[]]> {
  const out: [number[], number[], number[]] = [[], [], []];
  const one = async (open: Opener): Promise<number> => {
    const t0 = performance.now();
    const s: Duplex = await open();
    const us = (performance.now() - t0) * 1000;
    s.destroy();
    return us;
  };
  for (let done = 0; done < n; done += DIAL_BLOCK) {
    for (const [j, open] of opens.entries()) {
      // The first dial of a block overlaps the previous path's teardown: not counted.
      await one(open);
      for (let i = 0; i < Math.min(DIAL_BLOCK, n - done); i++) out[j as 0 | 1 | 2].push(await one(open));
    }
  }
  return out;
}
