import http2, { type ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import { raceSignal } from '@spoke/transport-core/utils';
import type { GrpcCodec } from './grpc-codec.js';
import { FLOW_WINDOW, http2SessionOptions } from './flow-window.js';
import { GRPC_CONTENT_TYPE } from './grpc-message.js';
import { GrpcClientCall } from './grpc-client-call.js';

/** Where and how a {@link GrpcChannel} connects. */
export interface GrpcChannelOptions<M> {
  /** The messages of the channel's calls. */
  codec: GrpcCodec<M>;
  /**
   * Opens the byte stream the HTTP/2 connection runs on: cleartext, or TLS
   * that agreed on ALPN h2. It bounds its own time and maps its own errors;
   * whatever it rejects with fails the calls waiting for it.
   */
  connect: () => Promise<Duplex>;
  /** `https` over TLS, `http` in cleartext (a unix socket). */
  scheme: 'http' | 'https';
  /** The `:authority` of every request. */
  authority: string;
  /** The `user-agent` of every request. */
  userAgent: string;
  /** What a call rejects with after {@link GrpcChannel.close}. */
  closedError: () => Error;
}

/**
 * One HTTP/2 connection to a gRPC server, shared by every call, as a grpc
 * channel is: opened by the first call, replaced by the next call once it
 * closed or the server sent GOAWAY. Calls that start while it connects wait
 * for the same connection.
 */
export class GrpcChannel<M> {
  readonly #o: GrpcChannelOptions<M>;
  #conn: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #closed = false;

  constructor(options: GrpcChannelOptions<M>) {
    this.#o = options;
  }

  /** Opens a call of `path` (`/Service/Method`), connecting first when there is no usable connection. */
  async call(path: string, signal: AbortSignal): Promise<GrpcClientCall<M>> {
    const conn = await this.#connection(signal);
    const stream = conn.session.request(
      { ':method': 'POST', ':path': path, 'content-type': GRPC_CONTENT_TYPE, te: 'trailers', 'user-agent': this.#o.userAgent },
      { endStream: false },
    );
    // An idle connection must not keep the process alive; a call in flight does.
    if (conn.calls++ === 0) conn.session.ref();
    return new GrpcClientCall(stream, {
      codec: this.#o.codec,
      onDone: () => {
        if (--conn.calls === 0) conn.session.unref();
      },
    });
  }

  /** Graceful: no new calls; the connection closes once its calls have ended. */
  close(): void {
    this.#closed = true;
    this.#conn?.session.close();
  }

  async #connection(signal: AbortSignal): Promise<Connection> {
    if (this.#closed) throw this.#o.closedError();
    signal.throwIfAborted();
    const c = this.#conn;
    if (c !== undefined && !c.session.closed && !c.session.destroyed) return c;
    this.#conn = undefined;
    const connecting = (this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    }));
    // The connection is shared: one caller giving up does not cancel it for the others.
    // The abort reason goes through as it is: the caller's dial turns it into its error.
    return await raceSignal(connecting, signal, (reason) => reason);
  }

  async #connect(): Promise<Connection> {
    const socket = await this.#o.connect();
    if (this.#closed) {
      socket.destroy();
      throw this.#o.closedError();
    }
    const session = http2.connect(`${this.#o.scheme}://${this.#o.authority}`, {
      ...http2SessionOptions,
      createConnection: () => socket,
    });
    // 4 MiB on unix sockets too (as grpc-js's channel did): the cleartext stall that keeps our
    // server's unix-socket sessions at 128 KiB (flow-window.ts) never showed on the client side
    // in the compliance suite's 50 concurrent echoes, and 128 KiB cost a tenth of pull throughput.
    session.setLocalWindowSize(FLOW_WINDOW);
    // Failures reach each call through its stream; the session itself must not throw.
    session.on('error', () => {});
    const conn: Connection = { session, calls: 0 };
    // Draining (GOAWAY) or gone: the next call opens a new connection.
    const forget = (): void => {
      if (this.#conn === conn) this.#conn = undefined;
    };
    session.once('goaway', forget);
    session.once('close', forget);
    session.unref();
    this.#conn = conn;
    return conn;
  }
}

/** A connection and how many calls are open on it. */
interface Connection {
  session: ClientHttp2Session;
  calls: number;
}
