import net from 'node:net';
import { numberArg, type Role } from './role.js';

/** Open connections of a piping relay: every socket (to destroy on close) and the pairs connected to the target. */
export interface RelayState {
  sockets: Set<net.Socket>;
  pairs: number;
}

/** Connects `down` to the target and pipes both ways, half-close passed through; an error on either side resets both. */
export function pipeToTarget(down: net.Socket, targetPort: number, state: RelayState): void {
  const up = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true, noDelay: true });
  for (const s of [down, up]) {
    state.sockets.add(s);
    s.once('close', () => state.sockets.delete(s));
  }
  up.once('connect', () => state.pairs++);
  up.once('close', () => state.pairs--);
  const reset = (): void => {
    down.destroy();
    up.destroy();
  };
  down.on('error', reset);
  up.on('error', reset);
  down.pipe(up);
  up.pipe(down);
}

/** Listens on 127.0.0.1 (any port) and returns the relay role around `server`. */
export async function relayRole(server: net.Server, state: RelayState): Promise<Role> {
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve));
  return {
    info: { port: (server.address() as net.AddressInfo).port },
    commands: { connections: () => state.pairs },
    async close() {
      for (const s of state.sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * The baseline relay: a plain Node TCP proxy (one upstream connection per
 * client connection, `pipe` both ways, half-close passed through).
 */
export function startTcpRelay(args: Record<string, unknown>): Promise<Role> {
  const targetPort = numberArg(args, 'targetPort');
  const state: RelayState = { sockets: new Set(), pairs: 0 };
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (down) => pipeToTarget(down, targetPort, state));
  return relayRole(server, state);
}
