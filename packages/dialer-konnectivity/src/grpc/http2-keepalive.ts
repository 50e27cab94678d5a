import type { Http2Session } from 'node:http2';

/** grpc's default keepalive timeout: a PING unanswered this long means the peer is gone. */
export const KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * gRPC keepalive on an HTTP/2 connection: a PING every `everyMs` (0 = none),
 * and the session destroyed if one is not answered within `timeoutMs`.
 * It stops when the session closes.
 */
export function keepAlive(session: Http2Session, everyMs: number, timeoutMs = KEEPALIVE_TIMEOUT_MS): void {
  if (!(everyMs > 0)) return;
  const timer = setInterval(() => {
    if (session.closed || session.destroyed) return;
    const deadline = setTimeout(() => session.destroy(), timeoutMs);
    deadline.unref();
    const sent = session.ping((err) => {
      clearTimeout(deadline);
      if (err) session.destroy();
    });
    if (!sent) clearTimeout(deadline);
  }, everyMs);
  timer.unref();
  session.once('close', () => clearInterval(timer));
}
