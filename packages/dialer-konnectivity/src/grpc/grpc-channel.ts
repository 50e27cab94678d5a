import http2, { type ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { SpokeError, dialerClosedError, raceSignal, type Dialer } from '@spoke/transport-core';
import { connectServer } from '../connect-socket.js';
import type { KonnectivityTlsOptions } from '../konnectivity-dialer.js';
import { FLOW_WINDOW, http2SessionOptions } from './flow-window.js';
import { GRPC_CONTENT_TYPE } from './grpc-message.js';
import { GrpcClientCall } from './grpc-client-call.js';

const HOP = 'konnectivity';

/** Where and how a {@link GrpcChannel} connects. */
export interface GrpcChannelOptions {
  /** A unix socket, or host and port (then `tls` is required). */
  server: { path: string } | { host: string; port: number };
  /** mTLS to a TCP server: CA bundle, client certificate and key, name to verify. */
  tls?: KonnectivityTlsOptions | undefined;
  /** Reach the server through this Dialer instead of directly. */
  via?: Dialer | undefined;
  /** Milliseconds to connect (and finish TLS) before a call fails. */
  connectTimeoutMs: number;
}

/**
 * One HTTP/2 connection to a gRPC server, shared by every call, as a grpc
 * channel is: opened by the first call, replaced by the next call once it
 * closed or the server sent GOAWAY. Calls that start while it connects wait
 * for the same connection.
 */
export class GrpcChannel {
  readonly #o: GrpcChannelOptions;
  readonly #where: string;
  readonly #authority: string;
  #conn: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #closed = false;

  constructor(options: GrpcChannelOptions) {
    this.#o = options;
    const s = options.server;
    this.#where = 'path' in s ? `unix:${s.path}` : `${s.host}:${s.port}`;
    // What grpc clients send: the target for TCP, "localhost" for a unix socket.
    this.#authority =
      'path' in s ? 'localhost' : (options.tls?.servername ?? (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`));
  }

  /** Opens a call of `path` (`/Service/Method`), connecting first when there is no usable connection. */
  async call(path: string, signal: AbortSignal): Promise<GrpcClientCall> {
    const conn = await this.#connection(signal);
    const stream = conn.session.request(
      { ':method': 'POST', ':path': path, 'content-type': GRPC_CONTENT_TYPE, te: 'trailers', 'user-agent': 'spoke-konnectivity-client' },
      { endStream: false },
    );
    // An idle connection must not keep the process alive; a call in flight does.
    if (conn.calls++ === 0) conn.session.ref();
    return new GrpcClientCall(stream, {
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
    if (this.#closed) throw closedError();
    signal.throwIfAborted();
    const c = this.#conn;
    if (c !== undefined && !c.session.closed && !c.session.destroyed) return c;
    this.#conn = undefined;
    const connecting = (this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    }));
    // The connection is shared: one caller giving up does not cancel it for the others.
    // The abort reason goes through as it is: runDial turns it into the dial's error.
    return await raceSignal(connecting, signal, (reason) => reason);
  }

  async #connect(): Promise<Connection> {
    const signal = AbortSignal.timeout(this.#o.connectTimeoutMs);
    const { server, tls } = this.#o;
    let socket: Duplex;
    try {
      socket = await connectServer(server, tls, signal, this.#o.via, ['h2']);
    } catch (err) {
      if (/NO_APPLICATION_PROTOCOL/.test(String((err as { cause?: { code?: unknown } }).cause?.code))) throw notHttp2(this.#where, err);
      if (signal.aborted && !(err instanceof SpokeError)) {
        throw new SpokeError(
          'ERR_HANDSHAKE_TIMEOUT',
          `Connecting to the Konnectivity server at ${this.#where} took over ${this.#o.connectTimeoutMs} ms. Check that it runs and is reachable.`,
          { cause: err, target: this.#where, hop: HOP },
        );
      }
      throw err;
    }
    if ('host' in server && (socket as TLSSocket).alpnProtocol !== 'h2') {
      socket.destroy();
      throw notHttp2(this.#where);
    }
    if (this.#closed) {
      socket.destroy();
      throw closedError();
    }
    const session = http2.connect(`${'host' in server ? 'https' : 'http'}://${this.#authority}`, {
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

function closedError(): SpokeError {
  return dialerClosedError('Konnectivity dialer', { hop: HOP });
}

function notHttp2(where: string, cause?: unknown): SpokeError {
  return new SpokeError(
    'ERR_PROTOCOL',
    `${where} did not agree to HTTP/2 (ALPN h2) in the TLS handshake: it is not a Konnectivity gRPC front end. Check the port, or use mode "http-connect".`,
    { cause, target: where, hop: HOP },
  );
}

/** A connection and how many calls are open on it. */
interface Connection {
  session: ClientHttp2Session;
  calls: number;
}
