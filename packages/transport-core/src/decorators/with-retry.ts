import { setTimeout as sleep } from 'node:timers/promises';
import type { Dialer, DialerDecorator } from '../dialer.js';
import { SpokeError, isAbortError } from '../errors.js';
import { runDial } from '../dial-scope.js';
import { backoffDelay, createBackoff, type BackoffOptions } from '../backoff.js';

/** Options of {@link withRetry}. */
export interface RetryOptions extends BackoffOptions {
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  /** Which failures to retry. Default: `err.retryable` (see RETRYABLE_CODES). */
  shouldRetry?: (err: SpokeError, attempt: number) => boolean;
}

/**
 * Retries failed dials with exponential backoff and jitter. The caller's
 * `signal`/`timeoutMs` bound the whole sequence, waits included; aborts are
 * never retried.
 */
export function withRetry(options: RetryOptions = {}): DialerDecorator {
  const backoff = createBackoff(options);
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new SpokeError('ERR_BAD_OPTION', `withRetry: retries must be a non-negative integer, got ${String(retries)}.`);
  }
  const shouldRetry = options.shouldRetry ?? ((err: SpokeError) => err.retryable);
  return (inner: Dialer): Dialer => ({
    kind: inner.kind,
    dial(target, dialOptions) {
      return runDial(dialOptions, { target, hop: inner.kind }, async (signal) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await inner.dial(target, { signal });
          } catch (err) {
            if (isAbortError(err) || signal.aborted) throw err;
            const spokeErr = SpokeError.from(err, { target, hop: inner.kind });
            if (attempt >= retries || !shouldRetry(spokeErr, attempt)) throw spokeErr;
            await sleep(backoffDelay(backoff, attempt), undefined, { signal });
          }
        }
      });
    },
    close: () => inner.close(),
  });
}
