import { Duplex } from 'node:stream';
import { SpokeError } from '@spoke/transport-core';
import {
  ControlType,
  FLAG_FIN,
  FrameReader,
  MAX_FRAME_PAYLOAD,
  RstStatus,
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  u32,
  type SpdyFrame,
} from './frames.js';
import { HeaderDeflater, HeaderInflater } from './header-zlib.js';

/** One SPDY stream opened by the peer, as a Duplex: `end()` sends FIN, `destroy()` sends RST_STREAM. */
export class SpdyStream extends Duplex {
  /** Whether the peer reset the stream (then we must not answer with our own RST). */
  resetByPeer = false;

  constructor(
    readonly id: number,
    readonly headers: ReadonlyMap<string, string>,
    private readonly session: SpdyServerSession,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    // Data is pushed as frames arrive; the session pauses the whole connection under pressure.
    this.session.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.session.sendData(this.id, Buffer.alloc(0), true, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.resetByPeer && !(this.readableEnded && this.writableFinished)) this.session.reset(this.id, RstStatus.CANCEL);
    this.session.forget(this.id);
    callback(error);
  }
}

/** What a SpdyServerSession reports. */
export interface SpdySessionHandlers {
  /**
   * A new peer stream; throw (or return false) to refuse it (it is then replied with FIN).
   * Its SYN_REPLY is written after this returns: write to the stream only later (a microtask will do).
   */
  onStream(stream: SpdyStream): boolean | void;
  /** The connection ended (cleanly or with an error). */
  onClose?(err?: Error): void;
}

/**
 * The server side of a SPDY/3.1 connection as Go's spdystream (kubectl's
 * client) speaks it: the peer opens streams (SYN_STREAM), we answer each with
 * SYN_REPLY, data flows both ways with FIN half-closes, PINGs are echoed.
 * spdystream does no flow control, so neither do we beyond pausing the
 * connection while a stream's reader is full.
 */
export class SpdyServerSession {
  private readonly reader = new FrameReader();
  private readonly inflater = new HeaderInflater();
  private readonly deflater = new HeaderDeflater();
  private readonly streams = new Map<number, SpdyStream>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private lastStreamId = 0;

  constructor(
    private readonly conn: Duplex,
    private readonly handlers: SpdySessionHandlers,
  ) {
    conn.on('data', (chunk: Buffer) => {
      let frames: SpdyFrame[];
      try {
        frames = this.reader.push(chunk);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
      for (const frame of frames) this.queue = this.queue.then(() => this.handle(frame)).catch((err: Error) => this.fail(err));
    });
    conn.on('end', () => this.shutdown());
    conn.on('close', () => this.shutdown());
    conn.on('error', (err) => this.shutdown(err));
  }

  /** Number of open streams. */
  get size(): number {
    return this.streams.size;
  }

  /** Resumes reading the connection (a stream's reader wants more). */
  resume(): void {
    if (!this.closed && this.conn.isPaused()) this.conn.resume();
  }

  /** Sends GOAWAY and closes the connection once written. */
  close(): void {
    if (this.closed) return;
    this.write(controlFrame(ControlType.GOAWAY, 0, Buffer.concat([u32(this.lastStreamId), u32(0)])));
    this.conn.end();
    this.shutdown();
  }

  /** Tears everything down now. */
  destroy(err?: Error): void {
    this.conn.destroy();
    this.shutdown(err);
  }

  /** @internal */
  sendData(id: number, chunk: Buffer, fin: boolean, callback: (error?: Error | null) => void): void {
    if (this.closed) {
      callback(new SpokeError('ERR_TUNNEL_CLOSED', 'The SPDY connection closed; open a new port-forward.'));
      return;
    }
    if (fin) {
      this.write(dataFrame(id, FLAG_FIN, chunk), callback);
      return;
    }
    // An empty write (e.g. end(Buffer.alloc(0))) sends nothing, but must still complete.
    if (chunk.length === 0) {
      callback();
      return;
    }
    for (let at = 0; at < chunk.length; at += MAX_FRAME_PAYLOAD) {
      const last = at + MAX_FRAME_PAYLOAD >= chunk.length;
      this.write(dataFrame(id, 0, chunk.subarray(at, at + MAX_FRAME_PAYLOAD)), last ? callback : undefined);
    }
  }

  /** @internal */
  reset(id: number, status: number): void {
    if (!this.closed) this.write(controlFrame(ControlType.RST_STREAM, 0, Buffer.concat([u32(id), u32(status)])));
  }

  /** @internal */
  forget(id: number): void {
    this.streams.delete(id);
  }

  private write(bytes: Buffer, callback?: (error?: Error | null) => void): void {
    if (this.conn.writable) this.conn.write(bytes, callback);
    else callback?.(new SpokeError('ERR_TUNNEL_CLOSED', 'The SPDY connection closed; open a new port-forward.'));
  }

  private async handle(frame: SpdyFrame): Promise<void> {
    if (this.closed) return;
    if (!frame.control) {
      const stream = this.streams.get(frame.streamId);
      if (!stream) {
        this.reset(frame.streamId, RstStatus.INVALID_STREAM);
        return;
      }
      if (frame.data.length > 0 && !stream.push(frame.data)) this.conn.pause();
      if (frame.flags & FLAG_FIN) stream.push(null);
      return;
    }
    if (frame.version !== 3)
      throw new SpokeError('ERR_VERSION_MISMATCH', `The peer speaks SPDY version ${frame.version}; only SPDY/3.1 is supported.`);
    const p = frame.payload;
    switch (frame.type) {
      case ControlType.SYN_STREAM: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflater.decompress(p.subarray(10)));
        this.lastStreamId = Math.max(this.lastStreamId, id);
        const stream = new SpdyStream(id, headers, this);
        this.streams.set(id, stream);
        let accepted: boolean;
        try {
          accepted = this.handlers.onStream(stream) !== false;
        } catch {
          accepted = false;
        }
        const reply = this.deflater.compress(encodeHeaderBlock(new Map()));
        this.write(controlFrame(ControlType.SYN_REPLY, accepted ? 0 : FLAG_FIN, Buffer.concat([u32(id), reply])));
        if (frame.flags & FLAG_FIN) stream.push(null);
        if (!accepted) stream.destroy();
        return;
      }
      case ControlType.HEADERS:
        // Extra headers on a stream carry nothing port-forward needs; keep the inflater in step.
        await this.inflater.decompress(p.subarray(4));
        return;
      case ControlType.RST_STREAM: {
        const stream = this.streams.get(p.readUInt32BE(0) & 0x7fffffff);
        if (stream) {
          stream.resetByPeer = true;
          stream.destroy(new SpokeError('ERR_STREAM_RESET', `The peer reset SPDY stream ${stream.id} (status ${p.readUInt32BE(4)}).`));
        }
        return;
      }
      case ControlType.PING:
        // Pings with odd ids are the client's; echo them unchanged.
        this.write(controlFrame(ControlType.PING, 0, p.subarray(0, 4)));
        return;
      case ControlType.GOAWAY:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown types need no answer.
        return;
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.write(controlFrame(ControlType.GOAWAY, 0, Buffer.concat([u32(this.lastStreamId), u32(1)])));
    this.conn.end();
    this.shutdown(err);
  }

  private shutdown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.inflater.close();
    const cause = err ?? new SpokeError('ERR_TUNNEL_CLOSED', 'The SPDY connection closed.');
    for (const stream of [...this.streams.values()]) {
      stream.resetByPeer = true;
      stream.destroy(cause);
    }
    this.streams.clear();
    this.handlers.onClose?.(err);
  }
}
