import type { Dialer, DialerDecorator } from '../dialer.js';
import { checkTimeout, runDial } from '../dial-scope.js';

/**
 * Bounds every dial of the wrapped dialer to `timeoutMs` (a dial's own,
 * shorter `timeoutMs` still wins). Enforced here, so it holds even for a
 * backend that ignores its signal.
 */
export function withTimeout(timeoutMs: number): DialerDecorator {
  checkTimeout('withTimeout(timeoutMs)', timeoutMs);
  return (inner: Dialer): Dialer => ({
    kind: inner.kind,
    dial(target, options) {
      const ms = Math.min(timeoutMs, options?.timeoutMs ?? Infinity);
      return runDial({ signal: options?.signal, timeoutMs: ms }, { target, hop: inner.kind }, (signal) => inner.dial(target, { signal }));
    },
    close: () => inner.close(),
  });
}
