import type { Duplex } from 'node:stream';

type FinalCallback = (error?: Error | null) => void;

/**
 * Holds back the FIN of an HTTP-CONNECT stream after `end()`.
 *
 * Konnectivity has no half-close: a Konnectivity server answers a client's
 * FIN with CLOSE_REQ, and the agent then closes the destination both ways at
 * once, so bytes still in flight either way are lost (upstream's agent drops
 * the tail of the request too). gRPC mode keeps reading after `end()` until
 * the destination closes or `graceMs` pass without data from it; this gives
 * HTTP-CONNECT streams the same rule: the FIN goes out when the destination
 * closes first (the server's FIN), or after `graceMs` of silence.
 */
export function deferEnd<T extends Duplex>(socket: T, graceMs: number): T {
  const writable = socket as T & { _final?: (callback: FinalCallback) => void };
  const shutdown = writable._final?.bind(socket);
  writable._final = (callback: FinalCallback): void => {
    let timer: NodeJS.Timeout | undefined;
    let seen = bytesRead(socket);
    const flush = (): void => {
      if (timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
      socket.off('end', flush);
      socket.off('close', flush);
      if (shutdown && !socket.destroyed) shutdown(callback);
      else callback();
    };
    // Activity is read from the byte counter, not a 'data' listener, which
    // would switch the stream to flowing mode behind its reader's back.
    const tick = (): void => {
      const now = bytesRead(socket);
      if (now === seen) {
        flush();
        return;
      }
      seen = now;
      timer = setTimeout(tick, graceMs);
    };
    timer = setTimeout(tick, graceMs);
    if (socket.readableEnded) {
      // The server closed first (end() is then automatic): nothing to wait for.
      flush();
      return;
    }
    socket.once('end', flush);
    socket.once('close', flush);
  };
  return socket;
}

function bytesRead(socket: Duplex): number {
  const n = (socket as Duplex & { bytesRead?: unknown }).bytesRead;
  return typeof n === 'number' ? n : 0;
}
