import http2, { type Http2SecureServer, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { SpokeError } from '@spoke/transport-core';
import { ConnectionGate, type ConnectionGateEvents, type ConnectionLimits } from './connection-gate.js';
import { connectionWindow, http2SessionOptions } from './flow-window.js';
import { keepAlive } from './http2-keepalive.js';
import { DEFAULT_MAX_MESSAGE, GRPC_CONTENT_TYPE, GrpcCode, statusHeaders } from './grpc-message.js';
import type { GrpcCodec } from './grpc-codec.js';
import { GrpcServerCall } from './grpc-server-call.js';

/** Options of {@link GrpcServer}. */
export interface GrpcServerOptions<M> {
  /** The messages of every route. */
  codec: GrpcCodec<M>;
  /** TLS for the listener; absent = cleartext HTTP/2 (the unix-socket front end). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; requestCert: boolean };
  /** Stream handlers by `:path` (`/Service/Method`). */
  routes: Readonly<Record<string, (call: GrpcServerCall<M>) => void>>;
  /** Server keepalive: a PING after this long without one (grpc's keepalive time). Default: none. */
  keepaliveTimeMs?: number;
  /** A PING unanswered this long closes the connection. Default 20000 ms (grpc's). */
  keepaliveTimeoutMs?: number;
  /** Largest message accepted. Default 4 MiB (grpc's). */
  maxMessageBytes?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams one connection may have open at once. Default: no limit. */
  maxConcurrentStreams?: number;
  /** Caps and the pre-auth deadline of TCP connections (see connection-gate.ts). Default: none. */
  limits?: ConnectionLimits;
  /** Reports of the connection caps and deadline. */
  gateEvents?: ConnectionGateEvents;
}

/**
 * A gRPC server for bidirectional streaming methods (Konnectivity's two), straight on
 * `node:http2`: no per-call interceptor chain, no channelz, messages decoded
 * from the stream's chunks. It opens 4 MiB flow-control windows (see
 * flow-window.ts), turns Nagle off, answers unknown methods with UNIMPLEMENTED
 * and non-gRPC requests with HTTP 415, and sends keepalive PINGs.
 */
export class GrpcServer<M> {
  readonly #server: Http2Server | Http2SecureServer;
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #options: GrpcServerOptions<M>;
  /** Counts and screens TCP connections before the TLS server sees them, when limits are given. */
  readonly #gate: ConnectionGate | undefined;

  constructor(options: GrpcServerOptions<M>) {
    this.#options = options;
    const sessionOptions =
      options.maxConcurrentStreams === undefined
        ? http2SessionOptions
        : { ...http2SessionOptions, settings: { ...http2SessionOptions.settings, maxConcurrentStreams: options.maxConcurrentStreams } };
    this.#server = options.tls
      ? http2.createSecureServer({
          ...sessionOptions,
          cert: options.tls.cert,
          key: options.tls.key,
          ...(options.tls.ca !== undefined ? { ca: options.tls.ca } : {}),
          requestCert: options.tls.requestCert,
          rejectUnauthorized: options.tls.requestCert,
          minVersion: 'TLSv1.2',
          ALPNProtocols: ['h2'],
        })
      : http2.createServer(sessionOptions);
    this.#server.on('connection', (socket: Socket) => socket.setNoDelay(true));
    this.#gate = options.limits === undefined ? undefined : new ConnectionGate(this.#server, options.limits, options.gateEvents);
    this.#server.on('session', (session: ServerHttp2Session) => this.#onSession(session));
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) =>
      this.#onStream(stream, headers, raw),
    );
    // TLS handshake failures and garbage from clients are theirs, not ours: drop the socket.
    this.#server.on('tlsClientError', () => {});
    this.#server.on('sessionError', () => {});
  }

  /** Listens on a unix socket path or a TCP port (0 picks one); resolves with the TCP port. */
  listen(at: { path: string } | { port: number; host?: string | undefined }): Promise<number | undefined> {
    const where = 'path' in at ? at.path : `${at.host ?? '*'}:${at.port}`;
    const listener = this.#listener;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new SpokeError('ERR_BAD_CONFIG', `Cannot listen on ${where}: ${err.message}. Check that the address is free.`, { cause: err }),
        );
      listener.once('error', onError);
      const done = (): void => {
        listener.removeListener('error', onError);
        resolve('path' in at ? undefined : (listener.address() as AddressInfo).port);
      };
      if ('path' in at) listener.listen(at.path, done);
      else listener.listen({ port: at.port, ...(at.host !== undefined && at.host !== '' ? { host: at.host } : {}) }, done);
    });
  }

  /** Stops accepting; GOAWAY to every connection; resolves when their streams are done. */
  async close(): Promise<void> {
    // The listener's callback waits for the connections it accepted to close.
    const closed = new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    for (const s of this.#sessions) s.close();
    await closed;
  }

  /** Closes every connection at once. */
  destroy(): void {
    this.#listener.close();
    for (const s of this.#sessions) s.destroy();
  }

  /** The server that listens: the gate when there are limits, else the HTTP/2 server itself. */
  get #listener(): net.Server {
    return this.#gate?.server ?? this.#server;
  }

  #onSession(session: ServerHttp2Session): void {
    this.#sessions.add(session);
    this.#gate?.adopt(session.socket, () => session.destroy());
    session.setLocalWindowSize(connectionWindow(this.#options.tls !== undefined));
    session.on('error', () => {});
    keepAlive(session, this.#options.keepaliveTimeMs ?? 0, this.#options.keepaliveTimeoutMs);
    session.once('close', () => {
      this.#sessions.delete(session);
    });
  }

  #onStream(stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders, raw: string[]): void {
    stream.on('error', () => {});
    // A request came: the connection finished its handshake and preface in time.
    this.#gate?.settled(stream.session?.socket ?? {});
    const contentType = headers['content-type'] ?? '';
    if (headers[':method'] !== 'POST' || !/^application\/grpc(?:$|[+;])/.test(contentType)) {
      // What grpc-go answers a request that is not gRPC.
      stream.respond({ ':status': 415, 'content-type': 'text/plain' }, { endStream: false });
      stream.end(`invalid gRPC request content-type "${contentType}"\n`);
      return;
    }
    const path = headers[':path'] ?? '';
    const handler = Object.hasOwn(this.#options.routes, path) ? this.#options.routes[path] : undefined;
    if (!handler) {
      stream.respond(
        { ':status': 200, 'content-type': GRPC_CONTENT_TYPE, ...statusHeaders(GrpcCode.UNIMPLEMENTED, `unknown method ${path}`) },
        { endStream: true },
      );
      return;
    }
    handler(new GrpcServerCall(stream, raw, this.#options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE, this.#options.codec));
  }
}
