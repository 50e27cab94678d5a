import net from 'node:net';
import type { Duplex } from 'node:stream';

// A reset must stay a reset on the next hop: a plain net.Socket's destroy() sends FIN, so
// send RST (TCP handles only; anything else just closes).
function resetStream(stream: Duplex, err: Error | undefined): void {
  if (err !== undefined && stream instanceof net.Socket && !stream.destroyed) {
    try {
      stream.resetAndDestroy();
      return;
    } catch {
      // not a TCP handle (unix socket, or TLS owns it)
    }
  }
  stream.destroy(err);
}

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
      if (!to.destroyed) resetStream(to, err);
    });
    from.once('close', () => {
      // Closed without finishing both directions: the other side must not wait forever.
      if (!to.destroyed && !(from.readableEnded && from.writableFinished))
        resetStream(to, firstError ?? new Error('the other side closed without finishing'));
      if (--open === 0) onClose?.(firstError);
    });
  };
  wire(a, b);
  wire(b, a);
}
