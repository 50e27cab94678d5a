import type { Duplex } from 'node:stream';
import { SpokeError, parseTarget, runDial, type DialOptions, type Target } from '@spoke/transport-core';

/** The parts every dialer of this package shares between `dial()` calls. */
export interface DialGuard {
  /** Name of the hop in errors, e.g. `"tls"`. */
  hop: string;
  /** What the user created, for the "was closed" message, e.g. `"TLS dialer"`. */
  what: string;
  /** Default `timeoutMs`. */
  timeoutMs: number | undefined;
  /** Whether `close()` was called. */
  isClosed(): boolean;
  /** Extra target check; returns an error to reject with. */
  refuse?(target: Target): SpokeError | undefined;
}

/**
 * The common start of a dial: parse the target (`ERR_BAD_TARGET`), refuse after
 * `close()` (`ERR_DIALER_CLOSED`), apply the default timeout, then run
 * `attempt` under transport-core's `runDial` (abort, timeout, no leaks).
 */
export function guardedDial<T extends Duplex>(
  guard: DialGuard,
  input: Target | string,
  options: DialOptions | undefined,
  attempt: (target: Target, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  let target: Target;
  try {
    target = parseTarget(input);
  } catch (err) {
    return Promise.reject(err);
  }
  const refused = guard.refuse?.(target);
  if (refused) return Promise.reject(refused);
  if (guard.isClosed()) {
    return Promise.reject(new SpokeError('ERR_DIALER_CLOSED', `This ${guard.what} was closed. Create a new dialer to keep dialling.`, { target, hop: guard.hop }));
  }
  return runDial<T>({ timeoutMs: guard.timeoutMs, ...options }, { target, hop: guard.hop }, (signal) => attempt(target, signal));
}
