import type { Duplex } from 'node:stream';

/**
 * Connects two streams both ways, like a proxy does: bytes flow in each
 * direction with backpressure, an end (half-close) on one side ends the other's
 * writable side, and an error or reset on either side resets the other with
 * the same error (so codes travel across hops). Calls `onClose` once both are closed.
 */
export function splice(a: Duplex, b: Duplex, onClose?: (err?: Error) => void): void {
  let firstError: Error | undefined;
  let open = 2;
  const wire = (from: Duplex, to: Duplex): void => {
    from.pipe(to);
    from.on('error', (err) => {
      firstError ??= err;
      if (!to.destroyed) to.destroy(err);
    });
    from.once('close', () => {
      // Closed without finishing both directions: the other side must not wait forever.
      if (!to.destroyed && !(from.readableEnded && from.writableFinished)) to.destroy(firstError);
      if (--open === 0) onClose?.(firstError);
    });
  };
  wire(a, b);
  wire(b, a);
}
