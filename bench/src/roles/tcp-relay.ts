import net from 'node:net';
import { numberArg, type Role } from './role.js';

/**
 * The baseline relay: a plain Node TCP proxy (one upstream connection per
 * client connection, `pipe` both ways, half-close passed through).
 */
export async function startTcpRelay(args: Record<string, unknown>): Promise<Role> {
  const targetPort = numberArg(args, 'targetPort');
  const sockets = new Set<net.Socket>();
  let pairs = 0;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (down) => {
    const up = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true, noDelay: true });
    for (const s of [down, up]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    up.once('connect', () => pairs++);
    up.once('close', () => pairs--);
    const reset = (): void => {
      down.destroy();
      up.destroy();
    };
    down.on('error', reset);
    up.on('error', reset);
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve));
  return {
    info: { port: (server.address() as net.AddressInfo).port },
    commands: {
      connections: () => pairs,
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
