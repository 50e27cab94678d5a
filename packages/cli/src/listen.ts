import type net from 'node:net';
import { listen as listenOn } from '@spoke/transport-core/utils';
import type { ListenAddress } from './addresses.js';

/**
 * Starts `server` on `address` and resolves to the address actually bound
 * (port 0 becomes the chosen port). Failures (address in use, permission)
 * reject with `ERR_BAD_OPTION` naming the address and what to change.
 */
export async function listen(server: net.Server, address: ListenAddress): Promise<ListenAddress> {
  const bound = await listenOn(server, address, { what: 'spoke' });
  return typeof bound === 'string' ? address : { host: bound.address, port: bound.port };
}
