import { SpokeError, type Dialer } from '@spoke/transport-core';
import { checkConnectionLimits } from '../grpc/connection-gate.js';
import { DialerRouter } from './dialer-router.js';
import { listenFrontEndAt, type FrontEndListener, type FrontEndSpec } from './front-end-listener.js';
import { abortReasonAsError, claimSocketPath, onAbort } from '@spoke/transport-core/utils';

/** Options of {@link createKonnectivityFrontEnd}. */
export interface KonnectivityFrontEndOptions {
  /** Where every dial goes: each DIAL_REQ / CONNECT is one `dialer.dial(address)`. */
  dialer: Dialer;
  /** `grpc` (`/ProxyService/Proxy`, kube-apiserver's `proxyProtocol: GRPC`) or `http-connect`. Default `grpc`. */
  mode?: 'grpc' | 'http-connect';
  /**
   * A unix socket (no TLS: its file permissions guard it, as upstream's `--uds-name` is). A stale socket file
   * there is replaced; a live one, or a file that is not a socket, is `ERR_BAD_OPTION`. Removed on close.
   */
  uds?: string;
  /** Mode of the unix socket, set before the front end resolves. Default 0o600. */
  socketMode?: number;
  /** Or TCP with mTLS: a client certificate signed by `tls.ca` is required (kube-apiserver's `tlsConfig`). */
  tcp?: { host?: string; port: number; tls: { cert: string | Buffer; key: string | Buffer; ca: string | Buffer } };
  /** TCP connections open at once; more are closed on accept. Default 4096. */
  maxConnections?: number;
  /** TCP connections open at once from one address. Default 1024. */
  maxConnectionsPerAddress?: number;
  /** A TCP connection must finish TLS and send its first request this long after accept. Default 10000 ms. */
  preAuthTimeoutMs?: number;
  /** Bound on one dial. Default 30000 ms (kube-apiserver's own GRPC dial timeout); 0 = the dialer's bound only. */
  dialTimeoutMs?: number;
  /** Bytes queued towards one client connection before its stream is paused. Default 4 MiB. */
  maxFrontendQueue?: number;
  /** After a client's CLOSE_REQ or EOF, how long the destination has to end its side before the stream is reset. Default 10000 ms. */
  closeGraceMs?: number;
  /** Aborting it destroys the front end (as `destroy()`). */
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/** A running front end. */
export interface KonnectivityFrontEnd {
  /** The TCP port (useful with port 0); undefined on a unix socket. */
  readonly port: number | undefined;
  /** Connections being dialled or open. */
  readonly connections: number;
  /** Stops accepting; open connections go on until they end. */
  close(): Promise<void>;
  /** Stops accepting and resets every connection. */
  destroy(): void;
}

/**
 * Serves the Konnectivity front-end protocols — gRPC `ProxyService` or HTTP
 * CONNECT, on a unix socket or mTLS TCP — in front of any `Dialer`: the same
 * code (and wire) as {@link createKonnectivityServer}'s front end, with the
 * dialer where the server has its agents. kube-apiserver's egress selector
 * (GRPC over UDS, HTTPConnect over UDS or mTLS TCP) can use it as it uses a
 * proxy-server. Each connection is its own Dialer stream, so flow control is
 * per connection. Throws `ERR_BAD_OPTION` for bad options or an address it cannot bind.
 */
export async function createKonnectivityFrontEnd(options: KonnectivityFrontEndOptions): Promise<KonnectivityFrontEnd> {
  const { uds, tcp } = options;
  if ((uds === undefined) === (tcp === undefined)) throw new SpokeError('ERR_BAD_OPTION', 'Give the front end exactly one of uds or tcp.');
  const mode = options.mode ?? 'grpc';
  if (mode !== 'grpc' && mode !== 'http-connect')
    throw new SpokeError('ERR_BAD_OPTION', `mode must be grpc or http-connect, got ${JSON.stringify(mode)}.`);
  const limits = {
    maxConnections: options.maxConnections ?? 4096,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 1024,
    preAuthTimeoutMs: options.preAuthTimeoutMs ?? 10_000,
  };
  checkConnectionLimits(limits, {
    maxConnections: 'maxConnections',
    maxConnectionsPerAddress: 'maxConnectionsPerAddress',
    preAuthTimeoutMs: 'preAuthTimeoutMs',
  });
  const numbers = {
    dialTimeoutMs: options.dialTimeoutMs ?? 30_000,
    maxFrontendQueue: options.maxFrontendQueue ?? 4 * 1024 * 1024,
    closeGraceMs: options.closeGraceMs ?? 10_000,
  };
  for (const [name, value] of Object.entries(numbers)) {
    if (!Number.isSafeInteger(value) || value < (name === 'dialTimeoutMs' ? 0 : 1))
      throw new SpokeError(
        'ERR_BAD_OPTION',
        `${name} must be a ${name === 'dialTimeoutMs' ? 'non-negative' : 'positive'} integer, got ${String(value)}.`,
      );
  }
  const log = options.log ?? (() => {});
  if (options.signal?.aborted) throw abortReasonAsError(options.signal.reason);
  if (uds !== undefined) await claimSocketPath(uds, 'The Konnectivity front end');
  const router = new DialerRouter({ dialer: options.dialer, ...numbers, log });
  const spec: FrontEndSpec = {
    mode,
    at:
      uds !== undefined
        ? { uds, deleteExisting: false, socketMode: options.socketMode ?? 0o600 }
        : { host: tcp?.host ?? '127.0.0.1', port: tcp?.port ?? 0, tls: (tcp as NonNullable<typeof tcp>).tls },
    limits,
    hooks: {
      proxyStreams: () => {},
      httpConnections: () => {},
      gate: { refused: (reason, address) => log(`front-end connection from ${address} refused: ${reason}`) },
    },
  };
  const listener: FrontEndListener = await listenFrontEndAt(spec, router);
  let stopped = false;
  const destroy = (): void => {
    stopped = true;
    detach();
    listener.destroy();
    router.dispose();
  };
  const detach = onAbort(options.signal, destroy);
  // Aborted while it was binding: destroyed already; say so rather than hand out a dead front end.
  if (options.signal?.aborted) throw abortReasonAsError(options.signal.reason);
  return {
    port: listener.port,
    get connections() {
      return router.size;
    },
    async close() {
      if (stopped) return;
      detach();
      await listener.close();
    },
    destroy,
  };
}
