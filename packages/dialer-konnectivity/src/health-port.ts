import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from '@spoke/transport-core/utils';

/** A listening health, readiness or metrics port. */
export interface HealthPort {
  readonly port: number;
  /** Stops listening and drops its keep-alive connections (probes hold them open). */
  close(): void;
}

/**
 * Listens on `port` (0 picks one) and answers each request with `handle`;
 * what it does not serve (returns false) is 404. Rejects with
 * `ERR_BAD_OPTION` when the port cannot be bound; no `host` is every interface.
 */
export async function listenHealthPort(
  port: number,
  host: string | undefined,
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => boolean,
): Promise<HealthPort> {
  const server = http.createServer((req, res) => {
    if (handle(req, res)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
  });
  const bound = (await listen(server, { host: host ?? '', port }, { what: 'The health server' })) as AddressInfo;
  return {
    port: bound.port,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}
