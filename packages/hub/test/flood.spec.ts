import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { Session, SpokeError } from '@spoke/transport-core';
import { encodeFrame, frameLimit } from '@spoke/transport-core/protocol';
import { rawHello } from '@spoke/transport-core/testing';
import { sessionOverWebSocket } from '../src/ws-carrier.js';

// Issue 17 #1 over the hub's own carrier: a peer that floods PINGs over WebSocket and reads none
// of the PONGs is ended with ERR_FLOW_CONTROL (the carrier also stops parsing its frames), instead
// of growing the hub without bound.

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a WebSocket peer that sends PINGs and reads nothing is ended with ERR_FLOW_CONTROL', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: frameLimit(65536) });
  await once(wss, 'listening');
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  const accepted = new Promise<Session>((resolve) =>
    wss.once('connection', (ws) => resolve(sessionOverWebSocket(ws, { role: 'responder', idleTimeoutMs: 60_000 }, 'ws attacker'))),
  );
  const attacker = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { perMessageDeflate: false });
  attacker.on('error', () => {});
  cleanups.push(() => attacker.terminate());
  await once(attacker, 'open');
  const session = await accepted;
  session.on('error', () => {});
  cleanups.push(() => session.destroy());
  attacker.send(encodeFrame(rawHello({ id: 'attacker', initialWindow: 262144, sessionWindow: 16 * 1024 * 1024 })));
  await session.ready();
  // From here on the attacker takes none of our frames.
  attacker.pause();
  const closed = new Promise<SpokeError | undefined>((resolve) => session.once('close', resolve));
  let nonce = 0;
  let done = false;
  void closed.then(() => (done = true));
  while (!done && attacker.readyState === WebSocket.OPEN) {
    const ping = encodeFrame({ type: 'PING', nonce: ++nonce });
    await new Promise<void>((resolve) => attacker.send(ping, () => resolve()));
  }
  const err = await closed;
  expect(err?.code).toBe('ERR_FLOW_CONTROL');
});
