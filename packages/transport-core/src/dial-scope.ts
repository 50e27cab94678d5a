import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import { SpokeError, abortError, asError, dialerClosedError, isAbortError } from './errors.js';
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
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const timer =
    timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(timeoutError(info, undefined, timeoutMs)), timeoutMs);

  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): void => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      controller.signal.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      if (settled) return;
      finish();
      reject(abortReasonToError(controller.signal.reason, info));
    };
    controller.signal.addEventListener('abort', onAbort, { once: true });
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
  const onAbort = (s: AbortSignal) => (): void => controller.abort(s.reason);
  const hooks = signals.map((s) => [s, onAbort(s)] as const);
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  timer.unref();
  const clear = (): void => {
    clearTimeout(timer);
    for (const [s, h] of hooks) s.removeEventListener('abort', h);
  };
  for (const [s, h] of hooks) {
    if (s.aborted) controller.abort(s.reason);
    else s.addEventListener('abort', h, { once: true });
  }
  controller.signal.addEventListener('abort', clear, { once: true });
  return { signal: controller.signal, clear };
}
