import diagnostics from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import type { Dialer, DialerDecorator } from '../dialer.js';
import { SpokeError, isAbortError } from '../errors.js';
import { formatTarget, type Target } from '../target.js';

/** Sent when a dial starts. */
export interface DialStartEvent {
  /** Unique per process, ties start to its outcome. */
  id: number;
  /** The dialer's `kind`. */
  kind: string;
  target: string;
}

/** Sent when a dial produced a stream. */
export interface DialConnectedEvent extends DialStartEvent {
  durationMs: number;
}

/** Sent when a dial failed (aborts included: `aborted` is true and `error` the AbortError). */
export interface DialErrorEvent extends DialStartEvent {
  durationMs: number;
  error: Error;
  /** The SpokeError code, or `"ABORT_ERR"` for cancellation. */
  code: string;
  aborted: boolean;
}

/** Callbacks for logging and metrics. A throwing hook never breaks a dial. */
export interface DialHooks {
  onDialStart?(event: DialStartEvent): void;
  onDialConnected?(event: DialConnectedEvent): void;
  onDialError?(event: DialErrorEvent): void;
}

/** `node:diagnostics_channel` names published by {@link withDiagnostics}. */
export const DIAL_CHANNELS = {
  start: 'spoke:dial:start',
  connected: 'spoke:dial:connected',
  error: 'spoke:dial:error',
} as const;

let nextId = 1;

/** Calls `hooks` around every dial of the wrapped dialer. */
export function withHooks(hooks: DialHooks): DialerDecorator {
  // Hooks are called as methods of `hooks`, so a class instance keeps its `this`.
  const safe = (call: () => void): void => {
    try {
      call();
    } catch {
      // Observability must never change the outcome of a dial.
    }
  };
  return (inner: Dialer): Dialer => ({
    kind: inner.kind,
    async dial(target, options) {
      const start: DialStartEvent = { id: nextId++, kind: inner.kind, target: typeof target === 'string' ? target : safeFormat(target) };
      const t0 = performance.now();
      safe(() => hooks.onDialStart?.(start));
      try {
        const stream = await inner.dial(target, options);
        safe(() => hooks.onDialConnected?.({ ...start, durationMs: performance.now() - t0 }));
        return stream;
      } catch (err) {
        const aborted = isAbortError(err);
        const error = err instanceof Error ? err : SpokeError.from(err);
        const code = aborted ? 'ABORT_ERR' : SpokeError.from(err).code;
        safe(() => hooks.onDialError?.({ ...start, durationMs: performance.now() - t0, error, code, aborted }));
        throw err;
      }
    },
    close: () => inner.close(),
  });
}

/**
 * Publishes dial start/connected/error on `node:diagnostics_channel`
 * ({@link DIAL_CHANNELS}); subscribers pay, nobody else does.
 */
export function withDiagnostics(): DialerDecorator {
  const start = diagnostics.channel(DIAL_CHANNELS.start);
  const connected = diagnostics.channel(DIAL_CHANNELS.connected);
  const error = diagnostics.channel(DIAL_CHANNELS.error);
  return withHooks({
    onDialStart: (e) => start.hasSubscribers && start.publish(e),
    onDialConnected: (e) => connected.hasSubscribers && connected.publish(e),
    onDialError: (e) => error.hasSubscribers && error.publish(e),
  });
}

function safeFormat(t: Target): string {
  try {
    return formatTarget(t);
  } catch {
    return inspect(t);
  }
}
