import { SpokeError, SPOKE_ERROR_CODES, type SpokeErrorCode } from '../errors.js';
import { SocketLikeDuplex } from '../socket-like.js';
import { LIMITS } from './frame.js';

/** What a stream needs from its session (kept narrow so the two stay testable apart). */
export interface StreamHost {
  /** Largest DATA payload to send for this stream now. */
  frameSize(): number;
  /** Our initial window per stream (what we granted the peer at open). */
  readonly localWindow: number;
  /** The window to keep open for a stream now, given the bytes it holds unread. */
  window(buffered: number): number;
  /** Queue this stream for the round-robin sender. */
  schedule(stream: SessionStream): void;
  /** Sends DATA now, consuming session credit; returns the bytes sent (0 = no session credit). */
  sendData(stream: SessionStream, chunk: Buffer): number;
  sendWindow(stream: number, increment: number): void;
  sendFin(stream: number): void;
  sendReset(stream: number, code: string, message: string): void;
  /** Bytes consumed by a reader (or dropped with a dead stream): feeds session-window grants. */
  consumed(bytes: number): void;
  /** The stream is finished; forget it. */
  release(stream: SessionStream): void;
}

interface PendingWrite {
  chunk: Buffer;
  offset: number;
  callback: (error?: Error | null) => void;
}

const KNOWN = new Set<string>(SPOKE_ERROR_CODES);

/** Maps a code received on the wire to one of ours (PROTOCOL.md §8). */
export function wireCode(code: string, fallback: SpokeErrorCode): SpokeErrorCode {
  return KNOWN.has(code) ? (code as SpokeErrorCode) : fallback;
}

/**
 * One multiplexed stream of a spoke/1 session: a socket-like Duplex whose
 * writes go out as DATA within the peer's credit, whose reads grant credit
 * back as the consumer reads, `end()` sends FIN and `destroy()` sends RESET.
 */
export class SessionStream extends SocketLikeDuplex {
  readonly id: number;
  /** The target as dialled (`host:port`, `[v6]:port` or `unix:/path`). */
  readonly target: string;
  readonly #host: StreamHost;
  #sendCredit: number;
  #granted: number;
  #received = 0;
  #consumedReported = 0;
  #pending: PendingWrite | undefined;
  #finalCallback: ((error?: Error | null) => void) | undefined;
  #finSent = false;
  #finReceived = false;
  #resetByPeer = false;
  /** @internal the session's scheduling flag. */
  scheduled = false;
  /** @internal true once DIAL_OK went either way. */
  opened = false;

  constructor(host: StreamHost, id: number, target: string, peerInitialWindow: number) {
    super({ allowHalfOpen: true, highWaterMark: 64 * 1024 });
    this.#host = host;
    this.id = id;
    this.target = target;
    this.#sendCredit = peerInitialWindow;
    this.#granted = host.localWindow;
    const colon = target.lastIndexOf(':');
    if (!target.startsWith('unix:') && colon > 0) {
      this.remoteAddress = target.slice(0, colon).replace(/^\[|\]$/g, '');
      this.remotePort = Number(target.slice(colon + 1));
    }
  }

  // ---- writing -----------------------------------------------------------

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.touch();
    this.#pending = { chunk, offset: 0, callback };
    this.#host.schedule(this);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finalCallback = callback;
    this.#host.schedule(this);
  }

  /** @internal Whether the scheduler has anything to send for this stream right now. */
  get wantsToSend(): boolean {
    return (this.#pending !== undefined && this.#sendCredit > 0) || (this.#pending === undefined && this.#finalCallback !== undefined);
  }

  /**
   * @internal Sends at most one frame. Returns true if the stream should stay
   * in the round-robin (more to send and credit left).
   */
  sendOne(): boolean {
    if (this.destroyed) return false;
    const p = this.#pending;
    if (p !== undefined) {
      const want = Math.min(p.chunk.length - p.offset, this.#host.frameSize(), this.#sendCredit);
      if (want <= 0) return false;
      const sent = this.#host.sendData(this, p.chunk.subarray(p.offset, p.offset + want));
      if (sent === 0) return false;
      this.#sendCredit -= sent;
      p.offset += sent;
      if (p.offset < p.chunk.length) return this.#sendCredit > 0;
      this.#pending = undefined;
      p.callback();
      // The callback may have queued the next write synchronously.
      return this.wantsToSend;
    }
    const fin = this.#finalCallback;
    if (fin !== undefined) {
      this.#finalCallback = undefined;
      this.#finSent = true;
      this.#host.sendFin(this.id);
      fin();
    }
    return false;
  }

  /** @internal WINDOW from the peer. */
  onWindow(increment: number): void {
    if (this.#sendCredit + increment > LIMITS.maxWindow) {
      this.#resetWith(
        'ERR_FLOW_CONTROL',
        `The peer granted credit beyond ${LIMITS.maxWindow} bytes on stream ${this.id}; it violates spoke/1 flow control.`,
      );
      return;
    }
    this.#sendCredit += increment;
    if (this.wantsToSend) this.#host.schedule(this);
  }

  // ---- reading -----------------------------------------------------------

  /** @internal DATA from the peer. */
  onData(data: Buffer): void {
    if (this.#finReceived) {
      this.#host.consumed(data.length);
      this.#resetWith('ERR_PROTOCOL', `The peer sent DATA after FIN on stream ${this.id}; it violates spoke/1.`);
      return;
    }
    if (this.#received + data.length > this.#granted) {
      this.#host.consumed(data.length);
      this.#resetWith('ERR_FLOW_CONTROL', `The peer sent beyond its credit on stream ${this.id}; it violates spoke/1 flow control.`);
      return;
    }
    this.#received += data.length;
    this.touch();
    // Carriers hand out views into freshly read buffers that nobody reuses; keep the view,
    // except when a small payload would pin a much larger buffer in memory.
    this.push(data.length * 8 < data.buffer.byteLength ? Buffer.from(data) : data);
    this.#grant();
  }

  /** @internal FIN from the peer. */
  onFin(): void {
    if (this.#finReceived) return;
    this.#finReceived = true;
    this.push(null);
  }

  /** @internal RESET from the peer. */
  onReset(code: string, message: string): void {
    this.#resetByPeer = true;
    this.destroy(
      new SpokeError(wireCode(code, 'ERR_STREAM_RESET'), `The far side reset the stream to ${this.target}: ${message}`, {
        target: this.target,
        hop: 'spoke',
      }),
    );
  }

  override _read(): void {
    this.#grant();
  }

  // Readable calls _read() before it removes the chunk it is about to return, and not again
  // until the next push; granting only there stalls a reader that empties the buffer in one
  // read(). Every removal from the buffer goes through read(), so grant after it as well.
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    if (chunk !== null) this.#grant();
    return chunk;
  }

  // Credit goes back as the consumer reads: what was received minus what still sits unread.
  #grant(): void {
    if (this.destroyed) return;
    const consumed = this.#received - this.readableLength;
    const delta = consumed - this.#consumedReported;
    if (delta > 0) {
      this.#consumedReported = consumed;
      this.#host.consumed(delta);
    }
    if (this.#finReceived) return;
    const window = this.#host.window(this.readableLength);
    const increment = consumed + window - this.#granted;
    if (increment >= window / 2) {
      this.#granted += increment;
      this.#host.sendWindow(this.id, increment);
    }
  }

  // ---- ending ------------------------------------------------------------

  #resetWith(code: SpokeErrorCode, message: string): void {
    this.destroy(new SpokeError(code, message, { target: this.target, hop: 'spoke' }));
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.stopIdleTimer();
    const clean = this.#finSent && this.#finReceived;
    if (!clean && !this.#resetByPeer && this.opened) {
      const code = err instanceof SpokeError ? err.code : 'ERR_STREAM_RESET';
      this.#host.sendReset(this.id, code, err ? err.message : 'the stream was closed before it finished');
    }
    // Unread bytes will never be consumed: return them to the session window.
    const unread = this.#received - this.#consumedReported;
    if (unread > 0) {
      this.#consumedReported = this.#received;
      this.#host.consumed(unread);
    }
    this.#pending = undefined;
    this.#finalCallback = undefined;
    this.#host.release(this);
    callback(err);
  }
}
