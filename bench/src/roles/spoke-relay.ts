import net from 'node:net';
import { WebSocketServer } from 'ws';
import { createNetDialer, sessionOverStream, type Session, type SessionOptions } from '@spoke/transport-core';
import { frameLimit } from '@spoke/transport-core/protocol';
import { sessionOverWebSocket } from '@spoke/hub';
import type { Role } from './role.js';

/**
 * The spoke/1 relay, shaped like a hub: accepts sessions (WebSocket, and
 * length-prefixed TCP for comparison) and serves each dial with a direct TCP
 * connection spliced to the stream.
 */
export async function startSpokeRelay(): Promise<Role> {
  const dialer = createNetDialer();
  const sessions = new Set<Session>();
  const options: SessionOptions = {
    role: 'responder',
    id: 'bench-relay',
    onDial: (target, info) => dialer.dial(target, { signal: info.signal }),
  };
  const adopt = (session: Session): void => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: frameLimit(64 * 1024) });
  wss.on('connection', (ws) => adopt(sessionOverWebSocket(ws, options, 'ws bench-client')));
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const tcp = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
    adopt(sessionOverStream(socket, options, 'tcp bench-client')),
  );
  await new Promise<void>((resolve) => tcp.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    info: { wsPort: (wss.address() as net.AddressInfo).port, tcpPort: (tcp.address() as net.AddressInfo).port },
    commands: {
      connections: () => [...sessions].reduce((n, s) => n + s.stats.streams, 0),
    },
    async close() {
      for (const s of sessions) s.destroy();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => tcp.close(r));
      await dialer.close();
    },
  };
}
