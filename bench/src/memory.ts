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
