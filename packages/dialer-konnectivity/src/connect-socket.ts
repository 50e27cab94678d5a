import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SpokeError, abortReasonToError, connectTls, onAbort, viaOrDirect, type Dialer } from '@spoke/transport-core';
import type { KonnectivityTlsOptions } from './konnectivity-dialer.js';

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
      reject(reason instanceof Error ? reason : abortReasonToError(reason));
    });
    socket.once('error', (err) => {
      detach();
      const mapped = SpokeError.from(err, { target: where, hop: 'konnectivity' });
      // The server, not the destination, is unreachable: never a dial code such as ERR_DIAL_REFUSED.
      reject(
        new SpokeError('ERR_TUNNEL_CLOSED', `Cannot reach the Konnectivity server at ${where}: ${mapped.message}`, {
          cause: err,
          target: where,
          hop: 'konnectivity',
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
    return await connectTls(raw, { host: target.host, hop: 'konnectivity' }, { ...tls, ...(alpn !== undefined ? { alpn } : {}) }, signal);
  } catch (err) {
    raw.destroy();
    throw err;
  }
}
