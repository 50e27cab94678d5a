import { pull, push, type Opener } from './client.js';
import { median, mibPerSecond, num } from './stats.js';

/** Something timed: resolves with the milliseconds a transfer of `bytes` took. */
export interface Contender {
  label: string;
  run(bytes: number): Promise<number>;
}

/** Median throughput of a contender and the spread of its runs. */
export interface Throughput {
  label: string;
  mibps: number;
  min: number;
  max: number;
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
  for (let r = 0; r < reps; r++) {
    for (const [i, c] of contenders.entries()) samples[i]?.push(mibPerSecond(bytes, await c.run(bytes)));
  }
  return contenders.map((c, i) => {
    const s = samples[i] ?? [];
    return { label: c.label, mibps: median(s), min: Math.min(...s), max: Math.max(...s) };
  });
}

/** One stream, one direction. */
export function singleStream(label: string, open: Opener, direction: 'push' | 'pull'): Contender {
  return {
    label,
    async run(bytes) {
      const stream = await open();
      return direction === 'push' ? push(stream, bytes) : pull(stream, bytes);
    },
  };
}

/** `streams` streams opened first, then all transferring `bytes / streams` at once; the time until the last one finished. */
export function parallelStreams(label: string, open: Opener, direction: 'push' | 'pull', streams: number): Contender {
  return {
    label,
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
