import net from 'node:net';
import { once } from 'node:events';
import { createDuplexPair } from '../memory-stream.js';
import { createNetDialer } from '../net-dialer.js';
import { sessionOverStream, type Session, type SessionOptions } from '../mux/session.js';

/** Which carrier a test session pair runs over. */
export type PairCarrier = 'memory' | 'tcp';

/** Two connected sessions and a way to tear everything down. */
export interface SessionPair {
  initiator: Session;
  responder: Session;
  /** Destroys both sessions and any server created for them. */
  close(): Promise<void>;
}

/**
 * Builds an initiator/responder pair over an in-memory pipe or loopback TCP. By default the responder serves dials with direct TCP.
 */
export async function createSessionPair(carrier: PairCarrier, options: SessionPairOptions = {}): Promise<SessionPair> {
  const { initiatorOptions, responderOptions } = sessionPairOptions(options);

  if (carrier === 'memory') {
    const [a, b] = createDuplexPair({ highWaterMark: 256 * 1024 });
    const responder = sessionOverStream(b, responderOptions, 'memory');
    const initiator = sessionOverStream(a, initiatorOptions, 'memory');
    return pairOf(initiator, responder, async () => {});
  }

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

/** Options of both ends of a test session pair. */
export interface SessionPairOptions {
  initiator?: Partial<SessionOptions>;
  responder?: Partial<SessionOptions>;
}

/**
 * Complete options of both ends: ids and roles filled in, and a responder that
 * serves dials with direct TCP unless the caller gave its own `onDial`. For
 * carriers built elsewhere (the hub package pairs sessions over WebSocket).
 */
export function sessionPairOptions(options: SessionPairOptions): { initiatorOptions: SessionOptions; responderOptions: SessionOptions } {
  const net0 = createNetDialer();
  return {
    responderOptions: {
      role: 'responder',
      id: 'responder',
      onDial: (target, info) => net0.dial(target, { signal: info.signal }),
      ...options.responder,
    },
    initiatorOptions: { role: 'initiator', id: 'initiator', ...options.initiator },
  };
}

/** Bundles two sessions with the teardown of whatever carries them. */
export function pairOf(initiator: Session, responder: Session, stopServer: () => Promise<void>): SessionPair {
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
