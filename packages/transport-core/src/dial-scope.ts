import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import { onAbort } from './abort.js';
import { SpokeError, abortError, abortReasonAsError, asError, dialerClosedError, isAbortError } from './errors.js';
import type { DialOptions } from './dialer.js';
import { formatTarget, parseTarget, type Target } from './target.js';

/** What a dial is about, for error messages. */
export interface DialInfo {
  target: Target | string;
  /** Name of the hop doing the dial, e.g. `"net"` or `"ssh://bastion:22"`. */
  hop: string;
}

/** Validates `timeoutMs`-style options: a positive finite number of milliseconds, or undefined. */
export function checkTimeout(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new SpokeError('ERR_BAD_OPTION', `${name} must be a positive number of milliseconds, got ${inspect(value)}.`);
  }
  return value;
}

/** Maps an abort reason to what a dial rejects with: ERR_DIAL_TIMEOUT for timeouts, AbortError otherwise. */
export function abortReasonToError(reason: unknown, info?: DialInfo): Error {
  if (reason instanceof SpokeError) return reason;
  if (typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError') {
    return timeoutError(info, reason);
  }
  return abortError(reason, info ? `The dial to ${targetText(info.target)} was aborted` : undefined);
}

function timeoutError(info: DialInfo | undefined, cause?: unknown, ms?: number): SpokeError {
  const what = info ? ` to ${targetText(info.target)}` : '';
  const after = ms === undefined ? '' : ` after ${ms} ms`;
  return new SpokeError(
    'ERR_DIAL_TIMEOUT',
    `The dial${what} timed out${after}. Check that the target and every hop are up, or raise timeoutMs.`,
    { cause, ...(info ?? {}) },
  );
}

function targetText(t: Target | string): string {
  return typeof t === 'string' ? t : formatTarget(t);
}

/**
 * Runs one dial attempt under the caller's `signal` and `timeoutMs`.
 *
 * The attempt receives a single signal that fires on abort or timeout and must
 * stop its work when it does. Whatever happens, the caller gets exactly one
 * outcome: the stream, an AbortError, ERR_DIAL_TIMEOUT or a SpokeError. A stream
 * that arrives after the dial was given up is destroyed, so nothing leaks.
 */
export function runDial<T extends Duplex>(
  options: DialOptions | undefined,
  info: DialInfo,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  let timeoutMs: number | undefined;
  try {
    timeoutMs = checkTimeout('timeoutMs', options?.timeoutMs);
  } catch (err) {
    return Promise.reject(asError(err));
  }
  const outer = options?.signal;
  if (outer?.aborted) return Promise.reject(abortReasonToError(outer.reason, info));

  const controller = new AbortController();
  const detachOuter = onAbort(outer, (reason) => controller.abort(reason));
  const timer =
    timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(timeoutError(info, undefined, timeoutMs)), timeoutMs);

  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): void => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      detachOuter();
      detachInner();
    };
    const detachInner = onAbort(controller.signal, (reason) => {
      if (settled) return;
      finish();
      reject(abortReasonToError(reason, info));
    });
    let pending: Promise<T>;
    try {
      pending = attempt(controller.signal);
    } catch (err) {
      pending = Promise.reject(asError(err));
    }
    pending.then(
      (stream) => {
        if (settled) {
          stream.destroy();
          return;
        }
        finish();
        resolve(stream);
      },
      (err: unknown) => {
        if (settled) return;
        finish();
        if (controller.signal.aborted) reject(abortReasonToError(controller.signal.reason, info));
        else reject(isAbortError(err) ? asError(err) : SpokeError.from(err, info));
      },
    );
  });
}

/**
 * The common front of every `dial()`: parse the target (`ERR_BAD_TARGET` as a
 * rejection), refuse once the dialer is closed (`ERR_DIALER_CLOSED`), then run
 * the attempt under the caller's signal and timeout ({@link runDial}).
 */
export function dialTarget<T extends Duplex>(
  input: Target | string,
  options: DialOptions | undefined,
  hop: string,
  isClosed: () => boolean,
  attempt: (target: Target, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  let target: Target;
  try {
    target = parseTarget(input);
  } catch (err) {
    return Promise.reject(asError(err));
  }
  if (isClosed()) {
    return Promise.reject(dialerClosedError(`${hop} dialer`, { target, hop }));
  }
  return runDial(options, { target, hop }, (signal) => attempt(target, signal));
}

/**
 * A signal that aborts after `timeoutMs` or when any of `signals` aborts, with a
 * strongly held timer. (Node 20 may garbage-collect `AbortSignal.timeout()`
 * inside `AbortSignal.any()` while only the combined signal is referenced, and
 * then the timeout never fires.) Call `clear()` when done.
 */
export function deadlineSignal(timeoutMs: number, ...signals: AbortSignal[]): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  timer.unref();
  const detach = signals.map((s) => onAbort(s, (reason) => controller.abort(reason)));
  const clear = (): void => {
    clearTimeout(timer);
    for (const d of detach) d();
  };
  onAbort(controller.signal, clear);
  return { signal: controller.signal, clear };
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
