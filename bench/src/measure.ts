import { pull, push, type Opener } from './client.js';
import { median, mibPerSecond, num } from './stats.js';

/** Something timed: resolves with the milliseconds a transfer of `bytes` took. */
export interface Contender {
  label: string;
  run(bytes: number): Promise<number>;
  /**
   * Cumulative CPU microseconds of each process on the path (e.g. client,
   * relay, target). CPU per byte does not depend on what else the machine
   * runs, unlike wall-clock throughput, so it tells where the cost is.
   */
  cpu?: () => Promise<Record<string, number>>;
}

/** Median throughput of a contender and the spread of its runs. */
export interface Throughput {
  label: string;
  mibps: number;
  min: number;
  max: number;
  /** Median CPU milliseconds per GiB moved, per process (when the contender reports CPU). */
  cpuMsPerGiB: Record<string, number>;
}

/** `client 700 + relay 900 + target 300 = 1,900 ms CPU/GiB` */
export function formatCpu(t: Throughput): string {
  const parts = Object.entries(t.cpuMsPerGiB);
  const total = parts.reduce((sum, [, v]) => sum + v, 0);
  return `${parts.map(([k, v]) => `${k} ${num(v)}`).join(' + ')} = ${num(total)} ms CPU/GiB`;
}

/** Total CPU milliseconds per GiB over every process of the path. */
export function totalCpu(t: Throughput): number {
  return Object.values(t.cpuMsPerGiB).reduce((sum, v) => sum + v, 0);
}

/** `1,234 MiB/s (1,100–1,300)` */
export function formatThroughput(t: Throughput): string {
  return t.min === t.max ? `${num(t.mibps)} MiB/s` : `${num(t.mibps)} MiB/s (${num(t.min)}–${num(t.max)})`;
}

/**
 * Runs every contender once to warm up (on at most 32 MiB), then `reps`
 * rounds, interleaved so that drift on a shared machine hits all of them alike.
 */
export async function compareThroughput(contenders: Contender[], bytes: number, reps: number): Promise<Throughput[]> {
  for (const c of contenders) await c.run(Math.min(bytes, 32 * 1024 * 1024));
  const samples = contenders.map(() => [] as number[]);
  const cpu = contenders.map(() => new Map<string, number[]>());
  for (let r = 0; r < reps; r++) {
    for (const [i, c] of contenders.entries()) {
      const before = await c.cpu?.();
      samples[i]?.push(mibPerSecond(bytes, await c.run(bytes)));
      const after = await c.cpu?.();
      for (const [proc, us] of Object.entries(after ?? {})) {
        const perGiB = ((us - (before?.[proc] ?? 0)) / 1000) * (GiB / bytes);
        cpu[i]?.set(proc, [...(cpu[i]?.get(proc) ?? []), perGiB]);
      }
    }
  }
  return contenders.map((c, i) => {
    const s = samples[i] ?? [];
    const cpuMsPerGiB = Object.fromEntries([...(cpu[i] ?? new Map<string, number[]>())].map(([proc, v]) => [proc, median(v)]));
    return { label: c.label, mibps: median(s), min: Math.min(...s), max: Math.max(...s), cpuMsPerGiB };
  });
}

const GiB = 1024 ** 3;

/** One stream, one direction. */
export function singleStream(label: string, open: Opener, direction: 'push' | 'pull', cpu?: Contender['cpu']): Contender {
  return {
    label,
    ...(cpu ? { cpu } : {}),
    async run(bytes) {
      const stream = await open();
      return direction === 'push' ? push(stream, bytes) : pull(stream, bytes);
    },
  };
}

/** `streams` streams opened first, then all transferring `bytes / streams` at once; the time until the last one finished. */
export function parallelStreams(
  label: string,
  open: Opener,
  direction: 'push' | 'pull',
  streams: number,
  cpu?: Contender['cpu'],
): Contender {
  return {
    label,
    ...(cpu ? { cpu } : {}),
    async run(bytes) {
      const each = Math.floor(bytes / streams);
      const opened = await Promise.all(Array.from({ length: streams }, () => open()));
      const t0 = performance.now();
      await Promise.all(opened.map((s) => (direction === 'push' ? push(s, each) : pull(s, each))));
      // Bytes not divisible by streams: scale to what actually moved.
      return ((performance.now() - t0) * bytes) / (each * streams);
    },
  };
}
