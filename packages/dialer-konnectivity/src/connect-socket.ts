import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { SpokeError, connectTls, dialerClosedError, viaOrDirect, type Dialer } from '@spoke/transport-core';
import { abortReasonAsError, onAbort } from '@spoke/transport-core/utils';
import { GrpcChannel } from './grpc/grpc-channel.js';
import type { GrpcCodec } from './grpc/grpc-codec.js';
import type { KonnectivityTlsOptions } from './konnectivity-dialer.js';

const HOP = 'konnectivity';

/**
 * Opens the raw connection to a Konnectivity server's front end: through
 * `via` when given, else a plain `net.Socket` without half-open support:
 * Konnectivity cannot carry a half-close, so when the server closes its side
 * the connection is over both ways.
 */
export function connectSocket(
  target: { path: string } | { host: string; port: number },
  signal: AbortSignal,
  via?: Dialer,
): Promise<Duplex> {
  if (via) return viaOrDirect(via).dial(target, { signal });
  return new Promise((resolve, reject) => {
    const socket =
      'path' in target
        ? net.connect({ path: target.path, allowHalfOpen: false })
        : net.connect({ host: target.host, port: target.port, allowHalfOpen: false });
    const where = 'path' in target ? `unix:${target.path}` : `${target.host}:${target.port}`;
    const detach = onAbort(signal, (reason) => {
      socket.destroy();
      // An Error reason (the connect timeout's TimeoutError) goes through as it is: the channel reads it.
      reject(abortReasonAsError(reason));
    });
    socket.once('error', (err) => {
      detach();
      const mapped = SpokeError.from(err, { target: where, hop: HOP });
      // The server, not the destination, is unreachable: never a dial code such as ERR_DIAL_REFUSED.
      reject(
        new SpokeError('ERR_TUNNEL_CLOSED', `Cannot reach the Konnectivity server at ${where}: ${mapped.message}`, {
          cause: err,
          target: where,
          hop: HOP,
        }),
      );
    });
    socket.once('connect', () => {
      detach();
      if (!('path' in target)) socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * Connects to a Konnectivity server's front end: a unix socket as it is, TCP
 * with (m)TLS verified against `tls.ca`, offering `alpn` in the handshake.
 */
export async function connectServer(
  target: { path: string } | { host: string; port: number },
  tls: KonnectivityTlsOptions | undefined,
  signal: AbortSignal,
  via?: Dialer,
  alpn?: string[],
): Promise<Duplex> {
  const raw = await connectSocket(target, signal, via);
  if ('path' in target) return raw;
  try {
    return await connectTls(raw, { host: target.host, hop: HOP }, { ...tls, ...(alpn !== undefined ? { alpn } : {}) }, signal);
  } catch (err) {
    raw.destroy();
    throw err;
  }
}

/** Where the Konnectivity client's gRPC channel connects. */
export interface GrpcServerTarget {
  server: { path: string } | { host: string; port: number };
  tls: KonnectivityTlsOptions | undefined;
  via: Dialer | undefined;
  /** Connecting and the TLS handshake together may take this long. */
  connectTimeoutMs: number;
}

/**
 * The Konnectivity client's gRPC channel over `target`: one HTTP/2 connection
 * to the server's front end, opened (TLS with ALPN h2 on TCP) by the first
 * call and shared by the calls after it.
 */
export function konnectivityChannel<M>(target: GrpcServerTarget, codec: GrpcCodec<M>): GrpcChannel<M> {
  const s = target.server;
  const where = 'path' in s ? `unix:${s.path}` : `${s.host}:${s.port}`;
  return new GrpcChannel({
    codec,
    connect: () => connectGrpcServer(target, where),
    scheme: 'path' in s ? 'http' : 'https',
    // What grpc clients send: the target for TCP, "localhost" for a unix socket.
    authority:
      'path' in s ? 'localhost' : (target.tls?.servername ?? (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)),
    userAgent: 'spoke-konnectivity-client',
    closedError: () => dialerClosedError('Konnectivity dialer', { hop: HOP }),
  });
}

async function connectGrpcServer(target: GrpcServerTarget, where: string): Promise<Duplex> {
  const signal = AbortSignal.timeout(target.connectTimeoutMs);
  let socket: Duplex;
  try {
    socket = await connectServer(target.server, target.tls, signal, target.via, ['h2']);
  } catch (err) {
    if (/NO_APPLICATION_PROTOCOL/.test(String((err as { cause?: { code?: unknown } }).cause?.code))) throw notHttp2(where, err);
    if (signal.aborted && !(err instanceof SpokeError)) {
      throw new SpokeError(
        'ERR_HANDSHAKE_TIMEOUT',
        `Connecting to the Konnectivity server at ${where} took over ${target.connectTimeoutMs} ms. Check that it runs and is reachable.`,
        { cause: err, target: where, hop: HOP },
      );
    }
    throw err;
  }
  if ('host' in target.server && (socket as TLSSocket).alpnProtocol !== 'h2') {
    socket.destroy();
    throw notHttp2(where);
  }
  return socket;
}

function notHttp2(where: string, cause?: unknown): SpokeError {
  return new SpokeError(
    'ERR_PROTOCOL',
    `${where} did not agree to HTTP/2 (ALPN h2) in the TLS handshake: it is not a Konnectivity gRPC front end. Check the port, or use mode "http-connect".`,
    { cause, target: where, hop: HOP },
  );
}
