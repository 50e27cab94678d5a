import { Duplex, type DuplexOptions } from 'node:stream';

/**
 * A Duplex with the parts of `net.Socket` that HTTP clients and servers call
 * (`setTimeout`, `setNoDelay`, `setKeepAlive`, `ref`, `unref`, addresses), so
 * streams that are not sockets (in-memory pairs, tunnel streams) can stand in
 * for one. Subclasses call `touch()` on traffic to feed the idle timeout.
 */
export class SocketLikeDuplex extends Duplex {
  /** Address of the far end, like `net.Socket#remoteAddress`. */
  remoteAddress: string | undefined;
  /** Port of the far end, like `net.Socket#remotePort`. */
  remotePort: number | undefined;
  /** Address of this end, like `net.Socket#localAddress`. */
  localAddress: string | undefined;
  #idleMs = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: DuplexOptions) {
    super(options);
  }

  /** Accepted for compatibility; framing is the carrier's business. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }
  /** Accepted for compatibility; liveness is the carrier's business. */
  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }
  /** Accepted for compatibility (these streams never hold the event loop open by themselves). */
  ref(): this {
    return this;
  }
  /** Accepted for compatibility. */
  unref(): this {
    return this;
  }

  /** Like `net.Socket#setTimeout`: emits `'timeout'` after `ms` without traffic; 0 disables. */
  setTimeout(ms: number, callback?: () => void): this {
    this.#idleMs = ms;
    if (callback) {
      if (ms === 0) this.off('timeout', callback);
      else this.once('timeout', callback);
    }
    this.touch();
    return this;
  }

  /** Restarts the idle timer; call on every read or write. */
  protected touch(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#idleMs > 0 && !this.destroyed) {
      this.#idleTimer = setTimeout(() => this.emit('timeout'), this.#idleMs);
      this.#idleTimer.unref();
    }
  }

  /** Stops the idle timer; subclasses call it from `_destroy`. */
  protected stopIdleTimer(): void {
    this.#idleMs = 0;
    this.touch();
  }
}
