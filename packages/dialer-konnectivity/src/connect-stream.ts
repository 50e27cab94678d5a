import type { Duplex } from 'node:stream';
import { SocketLikeDuplex } from '@spoke/transport-core/utils';

type Callback = (error?: Error | null) => void;

/**
 * One HTTP-CONNECT tunnel, as the Duplex a dial hands back, over the socket
 * to the server's front end (unix, or TLS on TCP).
 *
 * Why not the socket itself: a Konnectivity server has no half-close. It
 * answers our FIN by closing the connection at once (CLOSE_REQ, and the
 * agent's CLOSE_RSP comes without waiting for the destination), so the
 * server's end often arrives before the caller reads. A `net`/`tls` socket
 * that meets EOF with nothing buffered emits `'end'` right away, reader or
 * not (node reads 0 bytes on EOF), and then closes: a caller that uploads,
 * ends, and only then reads never sees the end. Here the end waits in the
 * readable buffer for the caller like any data, as gRPC mode's ProxyStream's.
 *
 * `end()` is held back too: the FIN goes out when the destination closes first
 * (the server's FIN), or after `graceMs` without data from it. A FIN sent at
 * once would make the server close both ways while the answer (and, with
 * upstream's agent, the tail of the request) is still in flight.
 */
export class ConnectStream extends SocketLikeDuplex {
  readonly #socket: Duplex;
  readonly #graceMs: number;
  /** The server ended the connection (its FIN): no more reads, and writes go nowhere. */
  #remoteEnded = false;
  /** `_final`'s callback while our FIN waits for the grace to pass. */
  #pendingFinal: Callback | undefined;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(socket: Duplex, graceMs: number) {
    // No half-close on the wire: when the server closes, we are done writing too.
    super({ allowHalfOpen: false });
    this.#socket = socket;
    this.#graceMs = graceMs;
    socket.on('data', (bytes: Buffer) => {
      // The grace after end() counts from the destination's last byte: a long answer is not cut off.
      this.#graceTimer?.refresh();
      this.touch();
      if (!this.push(bytes)) socket.pause();
    });
    socket.on('end', () => this.#onRemoteEnd());
    socket.on('error', (err: Error) => this.destroy(err));
    // A close without an end was a reset or a local destroy: the tunnel is lost, not ended.
    socket.on('close', () => {
      if (!this.#remoteEnded) this.destroy(socket.errored ?? undefined);
    });
    // The handshake may have met the server's close already (its 'end' then came and went).
    if (socket.readableEnded) this.#onRemoteEnd();
    else if (socket.destroyed) this.destroy(socket.errored ?? undefined);
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    // After the server's close the bytes have nowhere to go, as in gRPC mode after CLOSE_RSP.
    if (this.#remoteEnded || this.#socket.writableEnded || this.#socket.destroyed) {
      callback();
      return;
    }
    this.touch();
    this.#socket.write(chunk, callback);
  }

  override _final(callback: Callback): void {
    if (this.#remoteEnded || this.#socket.destroyed) {
      callback();
      return;
    }
    this.#pendingFinal = callback;
    this.#graceTimer = setTimeout(() => this.#sendFin(), this.#graceMs);
  }

  #sendFin(): void {
    const callback = this.#pendingFinal;
    if (callback === undefined) return;
    this.#pendingFinal = undefined;
    this.#clearGrace();
    const socket = this.#socket;
    if (socket.writableEnded || socket.destroyed) callback();
    // The socket's own errors reach us through its 'error' event; this only waits for the flush.
    else socket.end(() => callback());
  }

  #onRemoteEnd(): void {
    if (this.#remoteEnded) return;
    this.#remoteEnded = true;
    this.push(null);
    // The destination closed first: nothing to wait for (the socket ends its side by itself).
    this.#sendFin();
  }

  #clearGrace(): void {
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }

  override _destroy(err: Error | null, callback: Callback): void {
    this.#clearGrace();
    this.#pendingFinal = undefined;
    this.stopIdleTimer();
    this.#socket.destroy();
    callback(err);
  }
}
