import { EventEmitter } from 'node:events';
import { constants, type ServerHttp2Stream } from 'node:http2';
import type { GrpcCodec } from './grpc-codec.js';
import { GRPC_CONTENT_TYPE, GrpcCode, metadataValues, statusHeaders } from './grpc-message.js';
import { readMessages } from './message-reader.js';

/**
 * The server side of one bidirectional gRPC stream of `M` messages on a raw
 * HTTP/2 stream.
 *
 * Events: `data` (a message), `end` (the peer half-closed), `drain`, and
 * `close` (the stream is gone; `cancelled` tells whether it went before we
 * ended it).
 */
export class GrpcServerCall<M> extends EventEmitter<{ data: [M]; end: []; drain: []; close: [] }> {
  readonly #stream: ServerHttp2Stream;
  readonly #raw: readonly string[];
  readonly #codec: GrpcCodec<M>;
  #headersSent = false;
  #ended = false;
  /** Stops reading messages; replaced by a no-op once called, so the partial message it held can be collected. */
  #stopReading: () => void;
  /** Set while the caller is being authenticated: bytes from the peer call it instead of being read. */
  #onEarlyBytes: (() => void) | undefined;
  #status: { code: number; message: string } = { code: GrpcCode.OK, message: '' };

  constructor(stream: ServerHttp2Stream, rawHeaders: readonly string[], maxMessage: number, codec: GrpcCodec<M>) {
    super();
    this.#stream = stream;
    this.#raw = rawHeaders;
    this.#codec = codec;
    this.#stopReading = readMessages(
      stream,
      maxMessage,
      codec,
      (p) => {
        if (!this.#ended) this.emit('data', p);
      },
      (err) => this.end(err.code, err.details),
      () => {
        if (this.#onEarlyBytes === undefined) return true;
        this.#onEarlyBytes();
        return false;
      },
    );
    stream.on('end', () => this.emit('end'));
    stream.on('drain', () => this.emit('drain'));
    stream.on('wantTrailers', () => {
      const { code, message } = this.#status;
      stream.sendTrailers(statusHeaders(code, message));
    });
    // Stream errors (a reset, the session going away) are followed by 'close'.
    stream.on('error', () => {});
    stream.on('close', () => this.emit('close'));
  }

  /** Every value of a request header (metadata key), in the order sent. */
  metadata(name: string): string[] {
    return metadataValues(this.#raw, name);
  }

  /** The stream closed before we ended it (the peer cancelled or went away). */
  get cancelled(): boolean {
    return this.#stream.closed && !this.#ended;
  }

  /** We have ended (or are ending) the stream. */
  get writableEnded(): boolean {
    return this.#ended || this.#stream.closed;
  }

  /** Sends the response headers (with extra metadata) unless they went already. */
  sendHeaders(extra: Record<string, string> = {}): void {
    if (this.#headersSent || this.#stream.closed || this.#stream.destroyed) return;
    this.#headersSent = true;
    this.#stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE, ...extra }, { waitForTrailers: true });
  }

  /** Queues a message; false when the stream's buffer is full (wait for `drain`). */
  write(message: M, callback?: (err?: Error | null) => void): boolean {
    if (this.writableEnded) {
      if (callback) queueMicrotask(() => callback());
      return true;
    }
    this.sendHeaders();
    return this.#codec.write(this.#stream, message, callback);
  }

  /** Ends the stream with a status, after what was written (trailers-only if nothing was). */
  end(code: number = GrpcCode.OK, message = ''): void {
    if (this.writableEnded) return;
    this.#ended = true;
    this.#status = { code, message };
    if (this.#stream.destroyed) return;
    if (!this.#headersSent) {
      this.#headersSent = true;
      this.#stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE, ...statusHeaders(code, message) }, { endStream: true });
      return;
    }
    this.#stream.end();
  }

  /**
   * Until {@link admit}, the caller is not authenticated and has no reason to send (gRPC peers
   * wait for our headers first): its first bytes call `onEarlyBytes` (which should
   * {@link refuse} the call) and are never buffered.
   */
  holdUntilAdmitted(onEarlyBytes: () => void): void {
    this.#onEarlyBytes = onEarlyBytes;
  }

  /** The caller is authenticated: its messages are read from now on. */
  admit(): void {
    this.#onEarlyBytes = undefined;
  }

  /**
   * Refuses a call before it is served: the status at once (trailers-only), then RST_STREAM
   * NO_ERROR, as grpc-go does, so the peer stops sending the request body. Nothing more of the
   * stream is read, and what it buffered is dropped with it.
   */
  refuse(code: number, message: string): void {
    this.#stopReading();
    this.#stopReading = () => {};
    this.#onEarlyBytes = undefined;
    this.#stream.pause();
    this.end(code, message);
    if (!this.#stream.closed) this.#stream.close(constants.NGHTTP2_NO_ERROR);
  }

  /** Resets the stream (RST_STREAM CANCEL) at once, dropping what is queued. */
  reset(): void {
    this.#ended = true;
    if (!this.#stream.closed) this.#stream.close(constants.NGHTTP2_CANCEL);
  }

  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }
}
