import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { type Session } from '@spoke/transport-core';
import { frameLimit } from '@spoke/transport-core/protocol';
import { pairOf, sessionPairOptions, type SessionPair, type SessionPairOptions } from '@spoke/transport-core/testing';
import { sessionOverWebSocket } from '../src/ws-carrier.js';

/** An initiator/responder pair over a loopback WebSocket, as hub sessions run. */
export async function createWsSessionPair(options: SessionPairOptions = {}): Promise<SessionPair> {
  const { initiatorOptions, responderOptions } = sessionPairOptions(options);
  const maxPayload = frameLimit(Math.max(initiatorOptions.maxFrame ?? 65536, responderOptions.maxFrame ?? 65536));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const accepted = new Promise<Session>((resolve) =>
    wss.once('connection', (ws) => resolve(sessionOverWebSocket(ws, responderOptions, `ws 127.0.0.1:${port}`))),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload });
  // Started before 'open': the carrier holds our HELLO until the handshake completes.
  const initiator = sessionOverWebSocket(ws, initiatorOptions, `ws 127.0.0.1:${port}`);
  return pairOf(initiator, await accepted, async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
}
