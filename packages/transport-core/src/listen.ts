import type { AddressInfo, Server } from 'node:net';
import { onAbort } from './abort.js';
import { SpokeError, abortError } from './errors.js';

/** Where a server listens: a TCP address or a unix socket path. */
export type ListenAt = { host: string; port: number } | { path: string };

/**
 * Starts `server` and resolves to the address actually bound (port 0 becomes
 * the chosen port; a unix socket resolves to its path). A failure (address in
 * use, permission) rejects with `ERR_BAD_OPTION` naming `what`, the address
 * and what to change; a `signal` that aborts first closes the server and
 * rejects with its reason.
 */
export function listen(server: Server, at: ListenAt, options: { what?: string; signal?: AbortSignal } = {}): Promise<AddressInfo | string> {
  const where = 'path' in at ? at.path : at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      detach();
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is already in use; pick another port (0 picks a free one)'
          : err.code === 'EACCES'
            ? 'permission denied; use a port above 1023 or a writable directory'
            : err.code === 'EADDRNOTAVAIL'
              ? 'no local interface has that address'
              : err.message;
      reject(new SpokeError('ERR_BAD_OPTION', `${options.what ?? 'The server'} cannot listen on ${where}: ${why}.`, { cause: err }));
    };
    const detach = onAbort(options.signal, (reason) => {
      server.off('error', onError);
      server.close();
      reject(reason instanceof Error ? reason : abortError(reason));
    });
    if (options.signal?.aborted) return;
    server.once('error', onError);
    const done = (): void => {
      detach();
      server.off('error', onError);
      const bound = server.address();
      resolve(bound ?? ('path' in at ? at.path : { address: at.host, port: at.port, family: '' }));
    };
    if ('path' in at) server.listen(at.path, done);
    else server.listen(at.port, at.host, done);
  });
}
