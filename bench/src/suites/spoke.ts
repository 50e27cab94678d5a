import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { echo, saturate, sessionOpener, tcpOpener, type Opener } from '../client.js';
import { compareThroughput, formatCpu, formatThroughput, parallelStreams, singleStream, totalCpu, type Throughput } from '../measure.js';
import type { BenchOptions } from '../options.js';
import type { Goal, Row, Section } from '../report.js';
import { median, num, quantile } from '../stats.js';
import { startChild, type Child } from '../proc.js';
import { cpuMicros, type MemorySample } from '../memory.js';
import { startSpokePaths, type SpokePaths } from './spoke-paths.js';

/** Row groups of the spoke/1 suite, selectable with `--only`. */
export const SPOKE_ROWS = ['bulk', 'parallel', 'dial', 'memory', 'rtt'] as const;
export type SpokeRow = (typeof SPOKE_ROWS)[number];

const MiB = 1024 * 1024;

/** Runs the selected spoke/1 rows against a plain TCP relay measured in the same run. */
export async function runSpokeSuite(options: BenchOptions, rows: ReadonlySet<SpokeRow>): Promise<Section[]> {
  const sections: Section[] = [];
  const paths = await startSpokePaths();
  try {
    if (rows.has('bulk')) sections.push(await bulk(paths, options));
    if (rows.has('parallel')) sections.push(await parallel(paths, options));
    if (rows.has('dial')) sections.push(await dialLatency(paths, options));
    if (rows.has('rtt')) sections.push(await rttUnderLoad(paths, options));
  } finally {
    await paths.close();
  }
  // Fresh processes, so that the memory rows see nothing but idle streams.
  if (rows.has('memory')) sections.push(await memory(options));
  return sections;
}

function openers(p: SpokePaths): { tcp: Opener; ws: Opener; stream: Opener } {
  return { tcp: tcpOpener(p.tcpRelayPort), ws: sessionOpener(p.session, p.targetPort), stream: sessionOpener(p.sessionTcp, p.targetPort) };
}

// CPU of the three processes on a path: this client, the relay, the target.
function cpuOf(p: SpokePaths, relay: Child): () => Promise<Record<string, number>> {
  return async () => ({ client: cpuMicros(), relay: await relay.cpu(), target: await p.target.cpu() });
}

function cpuRow(name: string, base: Throughput, subject: Throughput): Row {
  return {
    name: `${name}: CPU per GiB, all processes (lower is better)`,
    baseline: `TCP relay ${num(totalCpu(base))} ms`,
    subject: `${num(totalCpu(subject))} ms`,
    ratio: totalCpu(subject) / totalCpu(base),
  };
}

async function bulk(p: SpokePaths, o: BenchOptions): Promise<Section> {
  const open = openers(p);
  const rows: Row[] = [];
  const cpuNotes: string[] = [];
  for (const direction of ['push', 'pull'] as const) {
    const [tcp, ws, stream] = await compareThroughput(
      [
        singleStream('TCP relay', open.tcp, direction, cpuOf(p, p.tcpRelay)),
        singleStream('spoke/1 ws', open.ws, direction, cpuOf(p, p.spokeRelay)),
        singleStream('spoke/1 tcp', open.stream, direction, cpuOf(p, p.spokeRelay)),
      ],
      o.bytes,
      o.reps,
    );
    if (!tcp || !ws || !stream) throw new Error('missing throughput result');
    rows.push(
      {
        name: `bulk ${direction}, 1 stream, spoke/1 over WebSocket`,
        baseline: `TCP relay ${formatThroughput(tcp)}`,
        subject: formatThroughput(ws),
        ratio: ws.mibps / tcp.mibps,
        goal: { op: '>=', value: 0.8 },
      },
      {
        name: `bulk ${direction}, 1 stream, spoke/1 over TCP (length-prefixed)`,
        baseline: `TCP relay ${formatThroughput(tcp)}`,
        subject: formatThroughput(stream),
        ratio: stream.mibps / tcp.mibps,
      },
      cpuRow(`bulk ${direction}, spoke/1 ws`, tcp, ws),
      cpuRow(`bulk ${direction}, spoke/1 tcp`, tcp, stream),
    );
    cpuNotes.push(
      `CPU ms per GiB, ${direction}: TCP relay ${formatCpu(tcp)}; spoke/1 ws ${formatCpu(ws)}; spoke/1 tcp ${formatCpu(stream)}`,
    );
  }
  return {
    title: 'spoke/1 bulk throughput, one stream (client → relay → target, each its own process)',
    rows,
    notes: [
      `${o.bytes / MiB} MiB per transfer in 64 KiB writes, median of ${o.reps} interleaved runs (range in brackets); push = client → target, pull = target → client`,
      'CPU per GiB = user + system time of client, relay and target processes over the transfer (less sensitive than MiB/s to other load on the machine, though not immune)',
      ...cpuNotes,
    ],
  };
}

async function parallel(p: SpokePaths, o: BenchOptions): Promise<Section> {
  const open = openers(p);
  const rows: Row[] = [];
  for (const direction of ['push', 'pull'] as const) {
    const [tcp, ws] = await compareThroughput(
      [
        parallelStreams(`${o.parallel} TCP relay connections`, open.tcp, direction, o.parallel, cpuOf(p, p.tcpRelay)),
        parallelStreams(`${o.parallel} streams, one session`, open.ws, direction, o.parallel, cpuOf(p, p.spokeRelay)),
      ],
      o.bytes,
      o.reps,
    );
    if (!tcp || !ws) throw new Error('missing throughput result');
    rows.push(
      {
        name: `bulk ${direction}, ${o.parallel} parallel streams on one spoke/1 ws session`,
        baseline: `${o.parallel} TCP relay conns ${formatThroughput(tcp)}`,
        subject: formatThroughput(ws),
        ratio: ws.mibps / tcp.mibps,
      },
      cpuRow(`bulk ${direction}, ${o.parallel} streams, spoke/1 ws`, tcp, ws),
    );
  }
  return {
    title: `spoke/1 aggregate throughput, ${o.parallel} parallel streams`,
    rows,
    notes: [
      `${o.bytes / MiB} MiB in total per run (${o.bytes / o.parallel / MiB} MiB per stream), timed from the first write to the last stream's end; median of ${o.reps}`,
    ],
  };
}

async function dialLatency(p: SpokePaths, o: BenchOptions): Promise<Section> {
  const rawConnect = async (): Promise<number> => {
    const t0 = performance.now();
    const s = net.connect({ host: '127.0.0.1', port: p.targetPort });
    await once(s, 'connect');
    const us = (performance.now() - t0) * 1000;
    s.destroy();
    return us;
  };
  const sessionDial = async (): Promise<number> => {
    const t0 = performance.now();
    const s = await p.session.dial({ host: '127.0.0.1', port: p.targetPort });
    const us = (performance.now() - t0) * 1000;
    s.destroy();
    return us;
  };
  // Open + 1-byte echo: both paths reach the target before the byte comes back.
  const firstByte = (open: Opener) => async (): Promise<number> => {
    const t0 = performance.now();
    const s = await open();
    await echo(s).roundTrip(1);
    const us = (performance.now() - t0) * 1000;
    s.destroy();
    return us;
  };
  const open = openers(p);
  const [raw, dial, tcpFirst, wsFirst] = (await sampleInterleaved(
    [rawConnect, sessionDial, firstByte(open.tcp), firstByte(open.ws)],
    o.dialSamples,
  )) as [number[], number[], number[], number[]];
  const rows = [
    ...latencyRows(
      (ql) => `dial latency ${ql}: session.dial() (DIAL → relay connects → DIAL_OK)`,
      { name: 'raw loopback connect', samples: raw },
      dial,
    ),
    ...latencyRows((ql) => `open + first echoed byte ${ql}, spoke/1 ws`, { name: 'TCP relay', samples: tcpFirst }, wsFirst),
  ];
  return {
    title: 'dial latency (sequential, loopback)',
    rows,
    notes: [`${o.dialSamples} sequential samples each, interleaved; lower is better, so a ratio above 1 means slower than the baseline`],
  };
}

/**
 * A p50 and a p99 row comparing two latency samples in µs (lower is better, so a ratio above 1
 * is slower than the baseline); `p50Goal` applies to the p50 row only.
 */
function latencyRows(
  name: (quantile: string) => string,
  baseline: { name: string; samples: number[] },
  subject: number[],
  p50Goal?: Goal,
): Row[] {
  const us = (v: number): string => `${num(v)} µs`;
  return (
    [
      [0.5, 'p50'],
      [0.99, 'p99'],
    ] as const
  ).map(([q, label]) => ({
    name: name(label),
    baseline: `${baseline.name} ${us(quantile(baseline.samples, q))}`,
    subject: us(quantile(subject, q)),
    ratio: quantile(subject, q) / quantile(baseline.samples, q),
    ...(q === 0.5 && p50Goal ? { goal: p50Goal } : {}),
  }));
}

// Takes n samples from each sampler, round-robin, after a short warm-up.
async function sampleInterleaved(samplers: Array<() => Promise<number>>, n: number): Promise<number[][]> {
  for (const s of samplers) for (let i = 0; i < Math.min(100, n); i++) await s();
  const out = samplers.map(() => [] as number[]);
  for (let i = 0; i < n; i++) for (const [j, s] of samplers.entries()) out[j]?.push(await s());
  return out;
}

async function rtts(stream: Duplex, n: number): Promise<number[]> {
  const e = echo(stream);
  for (let i = 0; i < Math.min(100, n); i++) await e.roundTrip(64);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await e.roundTrip(64));
  e.close();
  return out;
}

async function loadedRtts(open: Opener, n: number): Promise<{ idle: number[]; loaded: number[]; mibps: number }> {
  const idle = await rtts(await open(), n);
  const small = await open();
  const bulk = saturate(await open());
  // Let the bulk stream fill every buffer on the path before sampling.
  while (bulk.sent() < 32 * MiB) await new Promise((r) => setTimeout(r, 5));
  const sent0 = bulk.sent();
  const t0 = performance.now();
  const loaded = await rtts(small, n);
  const mibps = (bulk.sent() - sent0) / MiB / ((performance.now() - t0) / 1000);
  await bulk.stop();
  return { idle, loaded, mibps };
}

async function rttUnderLoad(p: SpokePaths, o: BenchOptions): Promise<Section> {
  const open = openers(p);
  const ws = await loadedRtts(open.ws, o.rttSamples);
  const tcp = await loadedRtts(open.tcp, o.rttSamples);
  const us = (v: number): string => `${num(v)} µs`;
  const rows = [
    ...latencyRows(
      (ql) => `echo RTT ${ql}, 64 B, while a bulk stream saturates the same spoke/1 ws session`,
      { name: 'idle', samples: ws.idle },
      ws.loaded,
      { op: '<=', value: 2 },
    ),
    ...latencyRows(
      (ql) => `reference: echo RTT ${ql} on a TCP relay connection while another saturates the relay`,
      { name: 'idle', samples: tcp.idle },
      tcp.loaded,
    ),
  ];
  return {
    title: 'head-of-line: small-stream RTT under bulk load',
    rows,
    notes: [
      `${o.rttSamples} sequential 64-byte round trips per measurement; loaded = a second stream of the same session pushes 64 KiB writes as fast as it can (sampling starts after 32 MiB)`,
      `bulk stream during sampling: spoke/1 ws ${num(ws.mibps)} MiB/s, TCP relay ${num(tcp.mibps)} MiB/s; idle median ${us(median(ws.idle))} (spoke) vs ${us(median(tcp.idle))} (TCP relay)`,
    ],
  };
}

async function memory(o: BenchOptions): Promise<Section> {
  const n = o.idleStreams;
  // The TCP relay holds two sockets per connection; keep it under this machine's fd limit (20,000).
  const relayN = Math.min(n, 9_000);
  const target = await startChild('target');
  const targetPort = Number(target.info['port']);
  const perStream = (before: MemorySample, after: MemorySample, count: number): { js: number; rss: number } => ({
    js: (after.heapUsed + after.external - before.heapUsed - before.external) / count,
    rss: (after.rss - before.rss) / count,
  });
  try {
    // Baseline: the client holds n raw TCP sockets straight to the target.
    const raw = await holdIdle({ mode: 'tcp', port: targetPort }, n);
    // spoke/1: the client holds n streams of one session; the relay holds n streams + n target sockets.
    const spokeRelay = await startChild('spoke-relay');
    const spoke = await holdIdle({ mode: 'spoke', relayPort: Number(spokeRelay.info['wsPort']), targetPort }, n, spokeRelay);
    await spokeRelay.stop();
    // The TCP relay's cost per relayed connection (client socket + target socket).
    const tcpRelay = await startChild('tcp-relay', { targetPort });
    const relayed = await holdIdle({ mode: 'tcp', port: Number(tcpRelay.info['port']) }, relayN, tcpRelay);
    await tcpRelay.stop();

    const client = { raw: perStream(raw.before, raw.after, n), spoke: perStream(spoke.before, spoke.after, n) };
    if (!spoke.relay || !relayed.relay) throw new Error('missing relay memory');
    const relay = {
      spoke: perStream(spoke.relay.before, spoke.relay.after, n),
      tcp: perStream(relayed.relay.before, relayed.relay.after, relayN),
    };
    const b = (v: number): string => `${num(v)} B`;
    const rows: Row[] = [
      {
        name: `client: JS heap + external per idle stream, ${num(n)} streams`,
        baseline: `raw TCP socket ${b(client.raw.js)}`,
        subject: `spoke/1 stream ${b(client.spoke.js)}`,
        ratio: client.spoke.js / client.raw.js,
      },
      {
        name: `client: RSS per idle stream, ${num(n)} streams`,
        baseline: `raw TCP socket ${b(client.raw.rss)}`,
        subject: `spoke/1 stream ${b(client.spoke.rss)}`,
        ratio: client.spoke.rss / client.raw.rss,
      },
      {
        name: `relay: JS heap + external per relayed idle stream`,
        baseline: `TCP relay ${b(relay.tcp.js)}`,
        subject: `spoke/1 relay ${b(relay.spoke.js)}`,
        ratio: relay.spoke.js / relay.tcp.js,
      },
      {
        name: `relay: RSS per relayed idle stream`,
        baseline: `TCP relay ${b(relay.tcp.rss)}`,
        subject: `spoke/1 relay ${b(relay.spoke.rss)}`,
        ratio: relay.spoke.rss / relay.tcp.rss,
      },
    ];
    return {
      title: `memory per idle stream (${num(n)} streams open at once)`,
      rows,
      notes: [
        'each stream/connection echoes one byte (proving the path is up) and then sits paused; memory is sampled after two forced GCs, in a fresh process per path',
        'JS = V8 heap used + external (Buffers); RSS also counts native socket state (libuv handles, kernel-side memory is not included in either)',
        `the TCP relay row is measured at ${num(relayN)} connections (two sockets each; this machine allows 20,000 fds per process) and normalised per connection`,
        `open time: ${num(n)} raw sockets ${num(raw.ms)} ms, ${num(n)} spoke/1 streams ${num(spoke.ms)} ms`,
      ],
    };
  } finally {
    await target.stop();
  }
}

interface Held {
  before: MemorySample;
  after: MemorySample;
  ms: number;
  relay?: { before: MemorySample; after: MemorySample };
}

async function holdIdle(
  prepare: Record<string, unknown>,
  n: number,
  relay?: { memory(): Promise<MemorySample>; call<T>(cmd: string): Promise<T> },
): Promise<Held> {
  const holder = await startChild('holder');
  try {
    await holder.call('prepare', prepare);
    // The warm-up streams must be gone on the relay too before its baseline sample.
    while (relay && (await relay.call<number>('connections')) > 0) await new Promise((r) => setTimeout(r, 20));
    const relayBefore = await relay?.memory();
    const held = await holder.call<Held>('open', { n });
    if (relay && relayBefore) {
      // The relay's target side may trail the client's view by a moment.
      while ((await relay.call<number>('connections')) < n) await new Promise((r) => setTimeout(r, 20));
      held.relay = { before: relayBefore, after: await relay.memory() };
    }
    await holder.call('closeAll');
    return held;
  } finally {
    await holder.stop();
  }
}
