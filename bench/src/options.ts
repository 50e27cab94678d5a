/** Sizes of one benchmark run (see `--quick` and the flags in main.ts). */
export interface BenchOptions {
  quick: boolean;
  /** Bytes per bulk transfer (single stream; split across the parallel streams). */
  bytes: number;
  /** Measured repetitions of each bulk comparison (interleaved: baseline, subject, baseline, ...). */
  reps: number;
  /** Streams of the parallel rows. */
  parallel: number;
  /** Idle streams of the memory row. */
  idleStreams: number;
  /** Round trips per RTT measurement. */
  rttSamples: number;
  /** Sequential dials per dial-latency measurement. */
  dialSamples: number;
  /** Milliseconds per codec measurement round. */
  codecMs: number;
  /** Bytes per single-stream transfer of the user-path rows (issue 15: 1 GiB; SPOKE_BENCH_USER_MIB overrides). */
  userBytes: number;
  /** Bytes per stream of the user-path 16-stream rows. */
  userParallelEach: number;
  /** Idle streams of the user-path memory rows. */
  userIdleStreams: number;
}

const MiB = 1024 * 1024;

/** Defaults: the full run (about 2–3 minutes on 2 cores), or `--quick` (well under a minute). */
export function defaultOptions(quick: boolean): BenchOptions {
  const userMiB = Number(process.env['SPOKE_BENCH_USER_MIB'] ?? (quick ? 32 : 1024));
  const user = { userBytes: userMiB * MiB, userParallelEach: (quick ? 4 : 64) * MiB, userIdleStreams: 1_000 };
  return quick
    ? { quick, bytes: 32 * MiB, reps: 1, parallel: 16, idleStreams: 1_000, rttSamples: 300, dialSamples: 300, codecMs: 100, ...user }
    : { quick, bytes: 256 * MiB, reps: 3, parallel: 16, idleStreams: 10_000, rttSamples: 2_000, dialSamples: 2_000, codecMs: 400, ...user };
}
