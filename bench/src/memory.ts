import { readFileSync } from 'node:fs';

/** Memory figures of this process after a forced GC (needs `--expose-gc`). */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
}

/** Collects garbage (twice: finalizers free more on the second pass) and samples memory. */
export async function sampleMemory(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('sampleMemory needs node --expose-gc');
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/** CPU time (user + system, all threads) this process used so far, in microseconds. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU time (user + system) of any process on this machine, from /proc, in microseconds (10 ms resolution). */
export function cpuMicrosOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1_000_000 / 100);
}
