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

function noop(): void {}
