import type { Duplex } from 'node:stream';
import { echo, inBatches, saturate, type Opener } from '../client.js';
import { cliMode, rssOf } from '../cli-procs.js';
import { compareThroughput, formatCpu, formatThroughput, parallelStreams, singleStream, totalCpu, type Throughput } from '../measure.js';
import type { BenchOptions } from '../options.js';
import type { Row, Section } from '../report.js';
import { median, num, quantile } from '../stats.js';
import { startUserPaths, type UserPaths } from '../user-path-setup.js';

const MiB = 1024 * 1024;
const KiB = 1024;
type PathName = 'tls' | 'connect' | 'wss';
const LABEL: Record<PathName, string> = {
  tls: 'TLS relay',
  connect: 'hub CONNECT front end → agent',
  wss: 'spoke forward → spoke+wss → hub → agent',
};
/** Goals of issue 15 per subject path: throughput ratio against the TLS relay. */
const THROUGHPUT_GOAL: Record<'connect' | 'wss', number> = { connect: 0.8, wss: 0.6 };

/**
 * Issue 15: the path users run, through the CLI processes, against one Node
 * process terminating TLS in the same run (see user-path-setup.ts).
 */
export async function runUserPathSuite(o: BenchOptions): Promise<Section[]> {
  const paths = await startUserPaths();
  const sections: Section[] = [];
  try {
    // Idle first: nothing has moved through the tunnel yet but the agent's registration.
    await new Promise((r) => setTimeout(r, 1000));
    const idle = { hub: paths.hub.rss(), agent: paths.agent.rss(), forward: paths.forward.rss() };
    sections.push(await throughput(paths, o));
    sections.push(await latency(paths, o));
    sections.push(await echoUnderLoad(paths, o));
    sections.push(await memory(paths, o, idle));
  } finally {
    await paths.close();
  }
  return sections;
}

async function throughput(p: UserPaths, o: BenchOptions): Promise<Section> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const single: Partial<Record<`${PathName}-${'push' | 'pull'}`, Throughput>> = {};
  for (const direction of ['push', 'pull'] as const) {
    const [tls, connect, wss] = await compareThroughput(
      (['tls', 'connect', 'wss'] as const).map((k) => singleStream(LABEL[k], p.open[k], direction, p.cpu[k])),
      o.userBytes,
      o.reps,
    );
    if (!tls || !connect || !wss) throw new Error('missing throughput result');
    Object.assign(single, { [`tls-${direction}`]: tls, [`connect-${direction}`]: connect, [`wss-${direction}`]: wss });
    for (const [k, t] of [
      ['connect', connect],
      ['wss', wss],
    ] as const) {
      rows.push({
        name: `${direction}, 1 stream, ${LABEL[k]}`,
        baseline: `TLS relay ${formatThroughput(tls)}`,
        subject: formatThroughput(t),
        ratio: t.mibps / tls.mibps,
        goal: { op: '>=', value: THROUGHPUT_GOAL[k] },
      });
    }
    for (const [k, t] of [
      ['connect', connect],
      ['wss', wss],
    ] as const) {
      rows.push({
        name: `${direction}: CPU s per GiB, tunnel processes, ${LABEL[k]} (lower is better)`,
        baseline: `TLS relay ${num(totalCpu(tls) / 1000, 2)} s`,
        subject: `${num(totalCpu(t) / 1000, 2)} s`,
        ratio: totalCpu(t) / totalCpu(tls),
        goal: { op: '<=', value: 2 },
      });
    }
    notes.push(`CPU ms per GiB, ${direction}: TLS relay ${formatCpu(tls)}; CONNECT ${formatCpu(connect)}; wss ${formatCpu(wss)}`);
  }
  // 16 streams at once, 64 MiB each (quick: 4 MiB): time to the last one.
  const streams = o.parallel;
  const total = o.userParallelEach * streams;
  const [tls16, connect16, wss16] = await compareThroughput(
    (['tls', 'connect', 'wss'] as const).map((k) => parallelStreams(LABEL[k], p.open[k], 'push', streams, p.cpu[k])),
    total,
    o.reps,
  );
  if (!tls16 || !connect16 || !wss16) throw new Error('missing throughput result');
  for (const [k, t] of [
    ['connect', connect16],
    ['wss', wss16],
  ] as const) {
    rows.push({
      name: `push, ${streams} streams × ${o.userParallelEach / MiB} MiB aggregate, ${LABEL[k]}`,
      baseline: `${streams} TLS relay connections ${formatThroughput(tls16)}`,
      subject: formatThroughput(t),
      ratio: t.mibps / tls16.mibps,
      goal: { op: '>=', value: 0.8 },
    });
    const one = single[`${k}-push`];
    if (one !== undefined)
      rows.push({
        name: `push, ${streams} streams aggregate vs 1 stream, ${LABEL[k]}`,
        baseline: `1 stream ${num(one.mibps)} MiB/s`,
        subject: `${num(t.mibps)} MiB/s`,
        ratio: t.mibps / one.mibps,
        goal: { op: '>=', value: 1 },
      });
  }
  notes.push(
    `client (this process) → tunnel → target (its own process); ${o.userBytes / MiB} MiB per single-stream transfer, median of ${o.reps} interleaved repetitions, range in brackets`,
    `CPU = utime+stime from /proc/PID/stat of the tunnel's processes only (TLS relay; hub + agent; forward + hub + agent): client and target are the same on every path`,
    `${streams}-stream CPU ms per GiB: TLS relay ${formatCpu(tls16)}; CONNECT ${formatCpu(connect16)}; wss ${formatCpu(wss16)}`,
  );
  return { title: 'user path: bulk throughput and CPU (spoke CLI processes vs one Node TLS relay)', rows, notes };
}

// Sequential connect + first echoed byte, in µs, the paths taking turns in blocks of 25.
export async function connectEcho(opens: Opener[], n: number): Promise<number[][]> {
  const out = opens.map(() => [] as number[]);
  const one = async (open: Opener): Promise<number> => {
    const t0 = performance.now();
    const s: Duplex = await open();
    await echo(s).roundTrip(1);
    const us = (performance.now() - t0) * 1000;
    s.destroy();
    return us;
  };
  for (let done = 0; done < n; done += 25) {
    for (const [j, open] of opens.entries()) {
      await one(open); // overlaps the previous path's teardowns: not counted
      for (let i = 0; i < Math.min(25, n - done); i++) out[j]?.push(await one(open));
    }
  }
  return out;
}

async function latency(p: UserPaths, o: BenchOptions): Promise<Section> {
  const n = Math.min(o.dialSamples, 1000);
  await connectEcho([p.open.tls, p.open.connect, p.open.wss], 50);
  const [tls = [], connect = [], wss = []] = await connectEcho([p.open.tls, p.open.connect, p.open.wss], n);
  const rows: Row[] = [];
  for (const [q, ql] of [
    [0.5, 'p50'],
    [0.99, 'p99'],
  ] as const) {
    for (const [k, s] of [
      ['connect', connect],
      ['wss', wss],
    ] as const) {
      rows.push({
        name: `connect + first echoed byte ${ql}, ${LABEL[k]}`,
        baseline: `TLS relay ${num(quantile(tls, q))} µs`,
        subject: `${num(quantile(s, q))} µs`,
        ratio: quantile(s, q) / quantile(tls, q),
        goal: { op: '<=', value: 2 },
      });
    }
  }
  return {
    title: 'user path: connect + first echoed byte',
    rows,
    notes: [
      `${n} sequential samples per path after 50 unmeasured, in blocks of 25; TLS relay = TCP + TLS handshake (pinned certificate) + 1 byte echoed; CONNECT = TCP + CONNECT request with Bearer token + dial through the agent + 1 byte; wss = TCP to spoke forward + dial over its WSS session + 1 byte`,
    ],
  };
}

interface LoadedEcho {
  idleP50: number;
  loadedP50: number;
  soloMiBps: number;
  loadedMiBps: number;
}

// Bytes a saturating stream writes per second over `ms`, after it has run for a second.
async function saturatedRate(open: Opener, ms: number): Promise<number> {
  const s = saturate(await open());
  await new Promise((r) => setTimeout(r, 1000));
  const from = s.sent();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const rate = (s.sent() - from) / MiB / ((performance.now() - t0) / 1000);
  await s.stop();
  return rate;
}

async function loadedEcho(open: Opener, samples: number): Promise<LoadedEcho> {
  const e = echo(await open());
  for (let i = 0; i < 50; i++) await e.roundTrip(64);
  const idle: number[] = [];
  for (let i = 0; i < samples; i++) idle.push(await e.roundTrip(64));
  const loaded: number[] = [];
  const s = saturate(await open());
  await new Promise((r) => setTimeout(r, 1000));
  const from = s.sent();
  const t0 = performance.now();
  for (let i = 0; i < samples; i++) loaded.push(await e.roundTrip(64));
  const elapsed = performance.now() - t0;
  const loadedMiBps = (s.sent() - from) / MiB / (elapsed / 1000);
  await s.stop();
  e.close();
  const soloMiBps = await saturatedRate(open, Math.max(1000, elapsed));
  return { idleP50: median(idle), loadedP50: median(loaded), soloMiBps, loadedMiBps };
}

async function echoUnderLoad(p: UserPaths, o: BenchOptions): Promise<Section> {
  const rows: Row[] = [];
  const notes: string[] = [];
  const results = new Map<PathName, LoadedEcho[]>();
  // Interleaved repetitions; the medians are shown.
  for (let r = 0; r < o.reps; r++)
    for (const k of ['tls', 'connect', 'wss'] as const)
      results.set(k, [...(results.get(k) ?? []), await loadedEcho(p.open[k], o.rttSamples)]);
  const med = (k: PathName, f: keyof LoadedEcho): number => median((results.get(k) ?? []).map((x) => x[f]));
  for (const k of ['connect', 'wss', 'tls'] as const) {
    const reference = k === 'tls' ? ' (reference: two TLS relay connections, no goal)' : '';
    rows.push({
      name: `64-byte echo p50 while a second stream saturates, ${LABEL[k]}${reference}`,
      baseline: `idle ${num(med(k, 'idleP50'))} µs`,
      subject: `${num(med(k, 'loadedP50'))} µs`,
      ratio: med(k, 'loadedP50') / med(k, 'idleP50'),
      ...(k === 'tls' ? {} : { goal: { op: '<=' as const, value: 2 } }),
    });
    rows.push({
      name: `the saturating stream's rate during the echoes vs alone, ${LABEL[k]}${reference}`,
      baseline: `alone ${num(med(k, 'soloMiBps'))} MiB/s`,
      subject: `${num(med(k, 'loadedMiBps'))} MiB/s`,
      ratio: med(k, 'loadedMiBps') / med(k, 'soloMiBps'),
      ...(k === 'tls' ? {} : { goal: { op: '>=' as const, value: 0.7 } }),
    });
  }
  notes.push(
    `${o.rttSamples} sequential 64-byte round trips idle, then as many while a second stream of the same path (same agent, same hub session) pushes 64 KiB writes as fast as it can (sampling starts 1 s after it began); median of ${o.reps} interleaved repetitions`,
  );
  return { title: 'user path: echo latency beside a saturating stream', rows, notes };
}

async function memory(p: UserPaths, o: BenchOptions, idle: { hub: number; agent: number; forward: number }): Promise<Section> {
  const n = o.userIdleStreams;
  const before = { hub: p.hub.rss(), agent: p.agent.rss(), forward: p.forward.rss(), relay: rssOf(p.tlsRelay.pid) };
  // Idle streams through the forwarder's one WSS session: each echoes one byte, then sits.
  const held: Duplex[] = [];
  const tlsHeld: Duplex[] = [];
  try {
    await inBatches(n, 32, async () => {
      const s = await p.open.wss();
      await echo(s).roundTrip(1);
      held.push(s);
    });
    await inBatches(n, 32, async () => {
      const s = await p.open.tls();
      await echo(s).roundTrip(1);
      tlsHeld.push(s);
    });
    await new Promise((r) => setTimeout(r, 1000));
    const after = { hub: p.hub.rss(), agent: p.agent.rss(), forward: p.forward.rss(), relay: rssOf(p.tlsRelay.pid) };
    const per = (k: keyof typeof after): number => (after[k] - before[k]) / n;
    const limit = (v: number, max: number, unit: number, u: string): Pick<Row, 'baseline' | 'subject' | 'ratio' | 'goal'> => ({
      baseline: `limit ${num(max / unit)} ${u}`,
      subject: `${num(v / unit, u === 'MiB' ? 1 : 0)} ${u}`,
      ratio: v / max,
      goal: { op: '<=', value: 1 },
    });
    const rows: Row[] = [
      { name: `idle RSS, spoke hub (${cliMode})`, ...limit(idle.hub, 60 * MiB, MiB, 'MiB') },
      { name: `idle RSS, spoke agent (${cliMode})`, ...limit(idle.agent, 45 * MiB, MiB, 'MiB') },
      { name: `RSS per idle stream, hub, ${num(n)} streams`, ...limit(per('hub'), 24 * KiB, 1, 'B') },
      { name: `RSS per idle stream, agent, ${num(n)} streams`, ...limit(per('agent'), 24 * KiB, 1, 'B') },
    ];
    return {
      title: 'user path: memory',
      rows,
      notes: [
        `idle RSS (VmRSS) 1 s after the agent registered, before any traffic; spoke forward ${num(idle.forward / MiB, 1)} MiB`,
        cliMode === 'source'
          ? 'CLI run from source: the TypeScript loader runs on a thread of its own and its heap counts in RSS (SPOKE_BENCH_CLI=dist runs the built CLI)'
          : 'CLI run from its build (packages/cli/bin/spoke.js)',
        `per idle stream: RSS growth after opening ${num(n)} streams through spoke forward (each echoed one byte, then left open), no forced GC; forward ${num(per('forward'))} B, TLS relay per connection ${num(per('relay'))} B (reference)`,
      ],
    };
  } finally {
    for (const s of [...held, ...tlsHeld]) s.destroy();
  }
}
