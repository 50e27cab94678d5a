import { SpokeError } from './errors.js';

/** Exponential backoff with jitter, shared by retries and reconnect loops. */
export interface BackoffOptions {
  /** First delay. Default 100 ms. */
  initialDelayMs?: number;
  /** Upper bound of any delay. Default 10000 ms. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay randomised, 0..1. Default 0.2 (±20 %). */
  jitter?: number;
}

/** Validated backoff settings. */
export type Backoff = Required<BackoffOptions>;

/** Validates options and fills defaults. */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const b: Backoff = {
    initialDelayMs: options.initialDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 10_000,
    factor: options.factor ?? 2,
    jitter: options.jitter ?? 0.2,
  };
  if (!(b.initialDelayMs >= 0) || !(b.maxDelayMs >= b.initialDelayMs) || !(b.factor >= 1) || !(b.jitter >= 0 && b.jitter <= 1)) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `Invalid backoff ${JSON.stringify(b)}: need 0 <= initialDelayMs <= maxDelayMs, factor >= 1 and 0 <= jitter <= 1.`,
    );
  }
  return b;
}

/** Delay before retry number `attempt` (0-based). `random` is injectable for tests. */
export function backoffDelay(b: Backoff, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(b.maxDelayMs, b.initialDelayMs * b.factor ** attempt);
  const spread = base * b.jitter;
  return Math.max(0, Math.min(b.maxDelayMs, base - spread + 2 * spread * random()));
}
