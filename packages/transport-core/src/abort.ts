import { abortReasonToError } from './dial-scope.js';
import { abortReasonAsError, asError } from './errors.js';

/**
 * Runs `listener` once when `signal` aborts, and returns the function that
 * detaches it: call it when the work finishes so long-lived signals do not
 * collect listeners. An already aborted signal runs `listener` at once (a
 * listener added to it would never fire). Without a signal nothing happens.
 */
export function onAbort(signal: AbortSignal | undefined, listener: (reason: unknown) => void): () => void {
  if (!signal) return noop;
  if (signal.aborted) {
    listener(signal.reason);
    return noop;
  }
  const handler = (): void => listener(signal.reason);
  signal.addEventListener('abort', handler, { once: true });
  return () => signal.removeEventListener('abort', handler);
}

/**
 * Settles with `promise`, or rejects when `signal` aborts first with what a
 * dial rejects with (`AbortError`, or `ERR_DIAL_TIMEOUT` for a timeout reason;
 * `toError` changes that; what it returns is made an Error if it is not one).
 * The listener is always detached. The losing promise is not cancelled: pair
 * this with work that stops on the same signal.
 */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  toError: (reason: unknown) => unknown = (reason) => abortReasonToError(reason),
): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const detach = onAbort(signal, (reason) => reject(abortReasonAsError(toError(reason))));
    promise.then(
      (value) => {
        detach();
        resolve(value);
      },
      (err: unknown) => {
        detach();
        reject(asError(err));
      },
    );
  });
}

function noop(): void {}
