import net from 'node:net';
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import { createDuplexPair } from '../memory-stream.js';
import { createNetDialer } from '../net-dialer.js';
import { frameLimit } from '../mux/frame.js';
import { sessionOverStream, sessionOverWebSocket, type Session, type SessionOptions } from '../mux/session.js';

/** Which carrier a test session pair runs over. */
export type PairCarrier = 'memory' | 'tcp' | 'ws';

/** Two connected sessions and a way to tear everything down. */
export interface SessionPair {
  initiator: Session;
  responder: Session;
  /** Destroys both sessions and any server created for them. */
  close(): Promise<void>;
}

/**
 * Builds an initiator/responder pair over an in-memory pipe, loopback TCP or a
 * loopback WebSocket. By default the responder serves dials with direct TCP.
 */
export async function createSessionPair(
  carrier: PairCarrier,
  options: { initiator?: Partial<SessionOptions>; responder?: Partial<SessionOptions> } = {},
): Promise<SessionPair> {
  const net0 = createNetDialer();
  const responderOptions: SessionOptions = {
    role: 'responder',
    id: 'responder',
    onDial: (target, info) => net0.dial(target, { signal: info.signal }),
    ...options.responder,
  };
  const initiatorOptions: SessionOptions = { role: 'initiator', id: 'initiator', ...options.initiator };
  const maxFrame = Math.max(initiatorOptions.maxFrame ?? 65536, responderOptions.maxFrame ?? 65536);

  if (carrier === 'memory') {
    const [a, b] = createDuplexPair({ highWaterMark: 256 * 1024 });
    const responder = sessionOverStream(b, responderOptions, 'memory');
    const initiator = sessionOverStream(a, initiatorOptions, 'memory');
    return pairOf(initiator, responder, async () => {});
  }

  if (carrier === 'tcp') {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    const accepted = new Promise<Session>((resolve) => {
      server.once('connection', (socket) =>
        resolve(sessionOverStream(socket, responderOptions, `tcp ${socket.remoteAddress}:${socket.remotePort}`)),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    // Started before 'connect': writes queue until the socket is up.
    const initiator = sessionOverStream(socket, initiatorOptions, `tcp 127.0.0.1:${port}`);
    return pairOf(initiator, await accepted, () => new Promise<void>((r) => server.close(() => r())));
  }

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: frameLimit(maxFrame) });
  await once(wss, 'listening');
  const { port } = wss.address() as net.AddressInfo;
  const accepted = new Promise<Session>((resolve) =>
    wss.once('connection', (ws) => resolve(sessionOverWebSocket(ws, responderOptions, `ws 127.0.0.1:${port}`))),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: frameLimit(maxFrame) });
  // Started before 'open': the carrier holds our HELLO until the handshake completes.
  const initiator = sessionOverWebSocket(ws, initiatorOptions, `ws 127.0.0.1:${port}`);
  return pairOf(initiator, await accepted, async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
}

function pairOf(initiator: Session, responder: Session, stopServer: () => Promise<void>): SessionPair {
  return {
    initiator,
    responder,
    close: async () => {
      initiator.destroy();
      responder.destroy();
      await stopServer();
    },
  };
}
