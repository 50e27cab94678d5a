import type net from 'node:net';
import type { ListenAddress } from './addresses.js';
import { formatListen } from './addresses.js';

/**
 * Starts `server` on `address` and resolves to the address actually bound
 * (port 0 becomes the chosen port). Failures (address in use, permission)
 * reject with a message that names the address and what to change.
 */
export function listen(server: net.Server, address: ListenAddress): Promise<ListenAddress> {
  return new Promise<ListenAddress>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is already in use; pick another port (0 picks a free one)'
          : err.code === 'EACCES'
            ? 'permission denied; use a port above 1023'
            : err.code === 'EADDRNOTAVAIL'
              ? 'no local interface has that address'
              : err.message;
      reject(new Error(`Cannot listen on ${formatListen(address)}: ${why}.`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(address.port, address.host, () => {
      server.off('error', onError);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound !== null ? { host: bound.address, port: bound.port } : address);
    });
  });
}
