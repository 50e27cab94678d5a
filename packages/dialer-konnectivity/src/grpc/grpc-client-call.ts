import { EventEmitter } from 'node:events';
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { GrpcCodec } from './grpc-codec.js';
import { DEFAULT_MAX_MESSAGE, GrpcCode, GrpcStatusError, statusFromHeaders } from './grpc-message.js';
import { readMessages } from './message-reader.js';

/** Options of a {@link GrpcClientCall}. */
export interface GrpcClientCallOptions<M> {
  /** The method's messages. */
  codec: GrpcCodec<M>;
  /** Largest message accepted from the server. Default 4 MiB (grpc's default). */
  maxMessage?: number;
  /** Runs once when the call is over: `cancelled` when we cancelled it, else it ended with a status. */
  onDone?: (cancelled: boolean) => void;
}

/**
 * The client side of one bidirectional gRPC stream of `M` messages on an HTTP/2
 * stream (Konnectivity's client `/ProxyService/Proxy` calls and agent
 * `/AgentService/Connect`). Events: `response` (the raw response headers, once
 * they show a gRPC answer that is not already a status), `data` (a message),
 * then exactly one of `end` (the server ended with OK) or `error` (a
 * {@link GrpcStatusError}), and `drain`. The status is reported only after every message before it was
 * read, so a paused reader loses nothing.
 */
export class GrpcClientCall<M> extends EventEmitter<{
  response: [raw: readonly string[]];
  data: [M];
  end: [];
  error: [Error];
  drain: [];
}> {
  readonly #stream: ClientHttp2Stream;
  readonly #codec: GrpcCodec<M>;
  readonly #onDone: ((cancelled: boolean) => void) | undefined;
  #done = false;
  /** The status from trailers (or a trailers-only response): null until it came, undefined for OK. */
  #status: GrpcStatusError | undefined | null = null;
  /** The transport error the stream saw, if any, for the message of an UNAVAILABLE status. */
  #cause: Error | undefined;
  #responded = false;
  #refused = false;

  constructor(stream: ClientHttp2Stream, options: GrpcClientCallOptions<M>) {
    super();
    this.#stream = stream;
    this.#codec = options.codec;
    this.#onDone = options.onDone;
    readMessages(
      stream,
      options.maxMessage ?? DEFAULT_MAX_MESSAGE,
      options.codec,
      (p) => {
        if (!this.#done) this.emit('data', p);
      },
      (err) => this.#finish(err),
    );
    stream.on('drain', () => this.emit('drain'));
    // Node passes the raw header list as a third argument (its typings omit it).
    stream.on('response', ((headers: IncomingHttpHeaders & { ':status'?: number }, _flags: number, raw: string[] = []) =>
      this.#onResponse(headers, raw)) as (headers: IncomingHttpHeaders, flags: number) => void);
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      this.#status = statusFromHeaders(trailers);
    });
    // The readable side ends after its last message was read: only then is the status final.
    stream.on('end', () => {
      if (this.#status !== null) this.#finish(this.#status);
    });
    stream.on('error', (err: Error) => {
      this.#cause ??= err;
    });
    stream.on('close', () => {
      if (this.#status === null && !this.#responded && stream.rstCode === constants.NGHTTP2_REFUSED_STREAM) this.#refused = true;
      this.#finish(this.#status !== null ? this.#status : closedWithoutStatus(stream.rstCode, this.#cause));
    });
  }

  /** True once the call ended or was cancelled; no events follow. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * True when the call ended refused (RST_STREAM REFUSED_STREAM) before any
   * response: the server did not process it, so it is safe to try again, as
   * grpc's transparent retry does (a connection that was just closing).
   */
  get refused(): boolean {
    return this.#refused;
  }

  /** True once our half is closed. */
  get writableEnded(): boolean {
    return this.#stream.writableEnded;
  }

  /**
   * Queues a message; false when the stream's buffer is full (wait for `drain`).
   * `callback` runs once HTTP/2 took it (at once when the call is over: its
   * end is reported by the call's own events, not by its writes).
   */
  write(message: M, callback?: () => void): boolean {
    if (this.#done || this.#stream.destroyed || this.#stream.writableEnded) {
      if (callback) process.nextTick(callback);
      return true;
    }
    return this.#codec.write(this.#stream, message, callback ? () => callback() : undefined);
  }

  /** Half-closes our side (nothing more to send). */
  end(): void {
    if (!this.#stream.destroyed && !this.#stream.writableEnded) this.#stream.end();
  }

  /** Cancels the call (RST_STREAM CANCEL); no events follow. */
  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#stream.closed) this.#stream.close(constants.NGHTTP2_CANCEL);
    this.#onDone?.(true);
  }

  /**
   * Ends our half and, if the server has not ended the call within `graceMs`,
   * cancels it, so no stream outlives its use. Errors from now on are
   * expected and swallowed; the rest is read so the server is never stalled.
   */
  finish(graceMs: number): void {
    this.on('error', () => {});
    this.resume();
    this.end();
    if (this.#done) return;
    const timer = setTimeout(() => this.cancel(), graceMs);
    timer.unref();
    const clear = (): void => clearTimeout(timer);
    this.once('end', clear);
    this.once('error', clear);
  }

  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }

  #onResponse(headers: IncomingHttpHeaders & { ':status'?: number }, raw: readonly string[]): void {
    this.#responded = true;
    const status = headers[':status'] ?? 0;
    if (status !== 200) {
      this.#finish(
        new GrpcStatusError(grpcCodeForHttpStatus(status), `HTTP status ${status} from the server: it did not answer as a gRPC server`),
      );
      return;
    }
    const type = headers['content-type'] ?? '';
    if (!/^application\/grpc(?:$|[+;])/.test(type)) {
      this.#finish(new GrpcStatusError(GrpcCode.UNKNOWN, `the server answered with content-type "${type}", not gRPC`));
      return;
    }
    // A trailers-only response carries the status in its headers.
    if (headers['grpc-status'] !== undefined) this.#status = statusFromHeaders(headers);
    else this.emit('response', raw);
  }

  // Once: 'end' for OK, else 'error'; the stream goes with it.
  #finish(status: GrpcStatusError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (status === undefined) this.emit('end');
    else this.emit('error', status);
    // Reset only a stream we still send on: once both sides ended it is closed, and a
    // RST_STREAM there is an invalid frame (a Node server closes a connection after 1,000).
    if (!this.#stream.closed && !this.#stream.writableEnded) this.#stream.close(constants.NGHTTP2_CANCEL);
    this.#onDone?.(false);
  }
}

/** grpc's mapping of an HTTP status that is not 200 (doc/http-grpc-status-mapping.md). */
function grpcCodeForHttpStatus(status: number): number {
  switch (status) {
    case 400:
      return GrpcCode.INTERNAL;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
      return GrpcCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/** The status of a stream that closed without one: from its RST_STREAM code, or the connection's failure. */
function closedWithoutStatus(rstCode: number | undefined, cause: Error | undefined): GrpcStatusError {
  switch (rstCode) {
    case constants.NGHTTP2_CANCEL:
      return new GrpcStatusError(GrpcCode.CANCELLED, 'the server cancelled the stream');
    case constants.NGHTTP2_REFUSED_STREAM:
      return new GrpcStatusError(GrpcCode.UNAVAILABLE, 'the server refused the stream');
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return new GrpcStatusError(GrpcCode.RESOURCE_EXHAUSTED, 'the server sent ENHANCE_YOUR_CALM');
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return new GrpcStatusError(GrpcCode.PERMISSION_DENIED, "the server found the connection's security inadequate");
    default:
      return new GrpcStatusError(
        GrpcCode.UNAVAILABLE,
        cause ? `connection lost: ${cause.message}` : `stream closed without a gRPC status (HTTP/2 code ${rstCode ?? 0})`,
      );
  }
}
