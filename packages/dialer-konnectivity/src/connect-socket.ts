import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SpokeError, viaOrDirect, type Dialer } from '@spoke/transport-core';

/**
 * Opens the raw connection to a Konnectivity server's front end: through
 * `via` when given, else a plain `net.Socket` without half-open support:
 * Konnectivity cannot carry a half-close, so when the server closes its side
 * the connection is over both ways.
 */
export function connectSocket(target: { path: string } | { host: string; port: number }, signal: AbortSignal, via?: Dialer): Promise<Duplex> {
  if (via) return viaOrDirect(via).dial(target, { signal });
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? net.connect({ path: target.path, allowHalfOpen: false }) : net.connect({ host: target.host, port: target.port, allowHalfOpen: false });
    const where = 'path' in target ? `unix:${target.path}` : `${target.host}:${target.port}`;
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      const mapped = SpokeError.from(err, { target: where, hop: 'konnectivity' });
      reject(new SpokeError(mapped.code === 'ERR_INTERNAL' ? 'ERR_TUNNEL_CLOSED' : mapped.code, `Cannot reach the Konnectivity server at ${where}: ${mapped.message}`, { cause: err, target: where, hop: 'konnectivity' }));
    });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      if (!('path' in target)) socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
