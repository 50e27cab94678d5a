import { SpokeError } from './errors.js';
import { SocketLikeDuplex } from './socket-like.js';

/** Options of {@link createDuplexPair}. */
export interface DuplexPairOptions {
  /** Bytes each side buffers before `write()` returns false. Default 64 KiB. */
  highWaterMark?: number;
  /** Shown as `remoteAddress` on the side that dialled. */
  remoteAddress?: string;
  /** Shown as `localAddress` on the side that dialled. */
  localAddress?: string;
}

/**
 * One end of an in-process stream pair. Behaves like a connected socket:
 * `end()` is a half-close, `destroy()` before both directions finished resets
 * the other end with `ERR_STREAM_RESET`, and a writer is held back (write
 * callbacks wait) while the other end does not read.
 */
export class MemoryStream extends SocketLikeDuplex {
  #peer: MemoryStream | undefined;
  // The peer's write callback, held while our readable buffer is full.
  #heldWrite: (() => void) | undefined;

  constructor(highWaterMark: number) {
    super({ allowHalfOpen: true, highWaterMark });
  }

  /** @internal */
  static link(a: MemoryStream, b: MemoryStream): void {
    a.#peer = b;
    b.#peer = a;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.#peer;
    this.touch();
    if (peer === undefined || peer.destroyed) {
      callback(new SpokeError('ERR_STREAM_RESET', 'The other end of this in-memory stream is gone; open a new stream.'));
      return;
    }
    peer.touch();
    if (peer.push(chunk)) callback();
    else peer.#heldWrite = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    const peer = this.#peer;
    if (peer !== undefined && !peer.destroyed) peer.push(null);
    callback();
  }

  override _read(): void {
    const held = this.#heldWrite;
    if (held !== undefined) {
      this.#heldWrite = undefined;
      held();
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.#peer;
    this.#heldWrite = undefined;
    this.stopIdleTimer();
    // Both directions finished: a normal close, the peer just reads its EOF.
    const clean = this.writableFinished && peer !== undefined && (peer.writableFinished || peer.writableEnded);
    if (peer !== undefined && !peer.destroyed && !clean) {
      peer.destroy(
        new SpokeError(
          'ERR_STREAM_RESET',
          'The other end reset this in-memory stream. Open a new stream to retry.',
          err ? { cause: err } : {},
        ),
      );
    }
    callback(err);
  }
}

/** Creates two connected in-process streams: `[dialler side, listener side]`. */
export function createDuplexPair(options: DuplexPairOptions = {}): [MemoryStream, MemoryStream] {
  const hwm = options.highWaterMark ?? 64 * 1024;
  const a = new MemoryStream(hwm);
  const b = new MemoryStream(hwm);
  MemoryStream.link(a, b);
  a.remoteAddress = options.remoteAddress;
  a.localAddress = options.localAddress;
  b.remoteAddress = options.localAddress;
  b.localAddress = options.remoteAddress;
  return [a, b];
}
