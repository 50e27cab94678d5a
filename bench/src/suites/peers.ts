import { mkdtempSync, rmSync } from 'node:fs';
import { ensurePeers, type BuiltPeer } from '../../peers/build-peers.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareThroughput, parallelStreams, singleStream, totalCpu } from '../measure.js';
import type { BenchOptions } from '../options.js';
import { startChisel, startFrp, startRathole, tunnelOf, type Mode, type RunningTunnel } from '../peer-tools.js';
import type { Row, Section } from '../report.js';
import { startChild } from '../proc.js';
import { num, quantile } from '../stats.js';
import { startUserPaths } from '../user-path-setup.js';
import { connectEcho } from './user-path.js';

const MiB = 1024 * 1024;

type Built = BuiltPeer;

/** What one tool measured in one mode. */
interface Measured {
  push: number;
  pull: number;
  parallel: number;
  cpuPush: number;
  echoP50: number;
  rssServer: number;
  rssAgent: number;
}

const METRICS: Array<{ key: keyof Measured; label: string; unit: string; higher: boolean; scale: number; digits: number }> = [
  { key: 'push', label: 'push MiB/s, 1 stream', unit: 'MiB/s', higher: true, scale: 1, digits: 0 },
  { key: 'pull', label: 'pull MiB/s, 1 stream', unit: 'MiB/s', higher: true, scale: 1, digits: 0 },
  { key: 'parallel', label: '16 streams aggregate MiB/s (push)', unit: 'MiB/s', higher: true, scale: 1, digits: 0 },
  { key: 'cpuPush', label: 'CPU s per GiB pushed, server + agent', unit: 's', higher: false, scale: 1000, digits: 2 },
  { key: 'echoP50', label: 'connect + first echoed byte p50 (µs)', unit: 'µs', higher: false, scale: 1, digits: 0 },
  { key: 'rssServer', label: 'idle RSS, server (MiB)', unit: 'MiB', higher: false, scale: MiB, digits: 1 },
  { key: 'rssAgent', label: 'idle RSS, agent (MiB)', unit: 'MiB', higher: false, scale: MiB, digits: 1 },
];

/**
 * Issue 15: spoke beside the tunnels users would pick instead, in one reverse topology
 * (server listens, agent dials out, the client reaches a target behind the agent through
 * the server), each in its default encrypted mode and its plaintext mode. spoke is the hub's
 * CONNECT front end → agent (WSS; plain: --insecure-plaintext ws).
 */
export async function runPeersSuite(o: BenchOptions): Promise<Section[]> {
  const built = ensurePeers();
  const dir = mkdtempSync(join(tmpdir(), 'spoke-bench-peers-'));
  const target = await startChild('target');
  const targetPort = Number(target.info['port']);
  const sections: Section[] = [];
  const skipped = Object.entries(built)
    .filter(([, b]) => b.skipped !== undefined)
    .map(([tool, b]) => `${tool}: ${b.skipped}`);
  try {
    for (const mode of ['encrypted', 'plain'] as const) {
      const tunnels = new Map<string, RunningTunnel>();
      const stops: Array<() => Promise<void>> = [];
      try {
        const spoke = await startUserPaths({ plaintext: mode === 'plain' });
        stops.push(() => spoke.close());
        tunnels.set('spoke', {
          open: spoke.open.connect,
          cpu: spoke.cpu.connect,
          rss: () => ({ server: spoke.hub.rss(), agent: spoke.agent.rss() }),
          stop: () => Promise.resolve(),
        });
        for (const [tool, b] of Object.entries(built)) {
          if (b.bins === undefined) continue;
          const procs =
            tool === 'chisel'
              ? await startChisel(b.bins['chisel'] as string, targetPort, mode)
              : tool === 'frp'
                ? await startFrp(b.bins, dir, targetPort, mode)
                : await startRathole(b.bins['rathole'] as string, dir, targetPort, mode);
          if (procs === undefined) continue;
          const t = await tunnelOf(procs);
          stops.push(() => t.stop());
          tunnels.set(tool, t);
        }
        await new Promise((r) => setTimeout(r, 1000));
        sections.push(await measureMode(o, mode, tunnels, built));
      } finally {
        for (const stop of stops.reverse()) await stop().catch(() => {});
      }
    }
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const last = sections.at(-1);
  if (last !== undefined && skipped.length > 0) last.notes.push(`left out: ${skipped.join('; ')}`);
  return sections;
}

async function measureMode(
  o: BenchOptions,
  mode: Mode,
  tunnels: Map<string, RunningTunnel>,
  built: Record<string, Built>,
): Promise<Section> {
  const names = [...tunnels.keys()];
  const list = [...tunnels.values()];
  const m = new Map<string, Measured>();
  for (const [name, t] of tunnels) {
    const rss = t.rss();
    m.set(name, { push: 0, pull: 0, parallel: 0, cpuPush: 0, echoP50: 0, rssServer: rss.server, rssAgent: rss.agent });
  }
  for (const direction of ['push', 'pull'] as const) {
    const results = await compareThroughput(
      list.map((t, i) => singleStream(names[i] as string, t.open, direction, () => t.cpu())),
      o.userBytes,
      o.reps,
    );
    results.forEach((r, i) => {
      const e = m.get(names[i] as string) as Measured;
      e[direction] = r.mibps;
      if (direction === 'push') e.cpuPush = totalCpu(r);
    });
  }
  const parallel = await compareThroughput(
    list.map((t, i) => parallelStreams(names[i] as string, t.open, 'push', o.parallel, () => t.cpu())),
    o.userParallelEach * o.parallel,
    o.reps,
  );
  parallel.forEach((r, i) => ((m.get(names[i] as string) as Measured).parallel = r.mibps));
  const n = Math.min(o.dialSamples, 1000);
  await connectEcho(
    list.map((t) => t.open),
    50,
  );
  const echoes = await connectEcho(
    list.map((t) => t.open),
    n,
  );
  echoes.forEach((s, i) => ((m.get(names[i] as string) as Measured).echoP50 = quantile(s, 0.5)));

  const fmt = (v: number, metric: (typeof METRICS)[number]): string => num(v / metric.scale, metric.digits);
  const rows: Row[] = [];
  const table = [`| ${mode} | ${names.join(' | ')} |`, `|---|${names.map(() => '---').join('|')}|`];
  for (const metric of METRICS) {
    table.push(`| ${metric.label} | ${names.map((nm) => fmt((m.get(nm) as Measured)[metric.key], metric)).join(' | ')} |`);
    const peers = names.filter((nm) => nm !== 'spoke');
    if (peers.length === 0) continue;
    const value = (nm: string): number => (m.get(nm) as Measured)[metric.key];
    const best = peers.reduce((a, b) => ((metric.higher ? value(b) > value(a) : value(b) < value(a)) ? b : a));
    rows.push({
      name: `${metric.label} (${mode})${metric.higher ? '' : ', lower is better'}`,
      baseline: `best peer ${best} ${fmt(value(best), metric)} ${metric.unit}`,
      subject: `spoke ${fmt(value('spoke'), metric)} ${metric.unit}`,
      ratio: value('spoke') / value(best),
    });
  }
  const versions = Object.entries(built)
    .filter(([, b]) => b.version !== undefined)
    .map(([tool, b]) => `${tool} ${b.version}`)
    .join(', ');
  return {
    title: `peers, ${mode}: spoke (hub CONNECT front end → agent) beside ${names.filter((x) => x !== 'spoke').join(', ') || 'no peer (none built)'}`,
    rows,
    table,
    notes: [
      `${versions}; ${o.userBytes / MiB} MiB per single-stream transfer, ${o.parallel} × ${o.userParallelEach / MiB} MiB, median of ${o.reps} interleaved repetitions; ${n} connect+echo samples per tool; configuration in bench/README.md (Peers)`,
      mode === 'encrypted'
        ? 'encrypted: spoke WSS agent leg (pinned certificate), chisel SSH over ws, frp TLS (transport.tls.enable, its default), rathole noise'
        : 'plain: spoke ws (--insecure-plaintext), frp transport.tls.enable = false, rathole tcp; chisel has no plain mode (SSH always encrypts)',
    ],
  };
}
