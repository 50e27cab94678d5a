import type http from 'node:http';
import type { Duplex } from 'node:stream';

/** Per-connection request head deadlines of the HTTP proxy (`--handshake-timeout`). */
export interface HeadDeadlines {
  /** A client connected: its first request head is due within the timeout. */
  arm(socket: Duplex): void;
  /** A request head arrived; once every answer on the connection is done, the next head is due. */
  requestStarted(socket: Duplex, res: http.ServerResponse): void;
  /** The connection became a CONNECT tunnel: no more heads, no more deadline. */
  tunnelled(socket: Duplex): void;
}

interface Waiting {
  timer: NodeJS.Timeout | undefined;
  /** Requests on this connection not answered yet (pipelining can make it more than one). */
  answering: number;
}

/**
 * Bounds how long a client may hold a connection (and a `--max-connections`
 * slot) without sending a complete request head: silent clients and clients
 * that trickle a partial head alike get a 408 and are cut, as are kept-alive
 * connections that stay silent after their last answer.
 */
export function createHeadDeadlines(timeoutMs: number): HeadDeadlines {
  const waiting = new WeakMap<Duplex, Waiting>();
  const body = `spoke proxy: ERR_HANDSHAKE_TIMEOUT: no complete request head within ${timeoutMs} ms (--handshake-timeout).\n`;
  const answer =
    'HTTP/1.1 408 Request Timeout\r\nX-Spoke-Error-Code: ERR_HANDSHAKE_TIMEOUT\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

  const expire = (socket: Duplex): void => {
    waiting.delete(socket);
    if (socket.destroyed) return;
    // Cut as soon as the answer is written, without waiting for the client's FIN: the slot is what matters.
    socket.end(answer, () => socket.destroy());
    setTimeout(() => socket.destroy(), 1_000).unref();
  };
  const start = (socket: Duplex, state: Waiting): void => {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => expire(socket), timeoutMs);
    state.timer.unref();
  };
  const stop = (socket: Duplex): void => {
    clearTimeout(waiting.get(socket)?.timer);
    waiting.delete(socket);
  };

  return {
    arm(socket) {
      const state: Waiting = { timer: undefined, answering: 0 };
      waiting.set(socket, state);
      start(socket, state);
      socket.once('close', () => stop(socket));
    },
    requestStarted(socket, res) {
      const state = waiting.get(socket);
      if (!state) return;
      clearTimeout(state.timer);
      state.answering += 1;
      res.once('close', () => {
        state.answering -= 1;
        if (state.answering === 0 && !socket.destroyed && waiting.get(socket) === state) start(socket, state);
      });
    },
    tunnelled: stop,
  };
}
