import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { decodeFrame, encodeFrame, type Frame } from '@spoke/transport-core/protocol';
import { rawHello } from '@spoke/transport-core/testing';
import { acceptKey, readHead, WsReader, wsFrame } from './raw-ws.js';

/** One agent connection to the fake hub, past both HELLOs. */
export interface AgentLink {
  /** The agent's HELLO. */
  hello: Frame;
  /** Every frame the agent sent after its HELLO (while we read). */
  frames: Frame[];
  socket: tls.TLSSocket;
  send(frame: Frame): boolean;
  /** Sends bytes as one WebSocket message, whatever they are. */
  sendMessage(payload: Buffer): boolean;
  /** Resolves once `count` frames matching `match` have come. */
  received(match: (f: Frame) => boolean, count: number, boundMs?: number): Promise<Frame[]>;
  closed: Promise<void>;
}

/**
 * A hostile hub written from the protocol: a TLS server that accepts the agent's WebSocket upgrade on
 * /v1/agent, answers its HELLO with one of its own, and then does whatever the test says.
 */
export interface FakeHub {
  address: string;
  /** Upgrade requests seen so far (each is an agent (re)connecting). */
  readonly upgrades: number;
  /** Resolves with the next agent connection once both HELLOs have been exchanged. */
  nextLink(boundMs?: number): Promise<AgentLink>;
  close(): Promise<void>;
}

export async function startFakeHub(cert: string, key: string): Promise<FakeHub> {
  const waiting: Array<(link: AgentLink) => void> = [];
  const ready: AgentLink[] = [];
  const sockets = new Set<tls.TLSSocket>();
  let upgrades = 0;
  const server = tls.createServer({ cert, key }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    void serve(socket);
  });
  async function serve(socket: tls.TLSSocket): Promise<void> {
    const head = await readHead(socket).catch(() => undefined);
    const wsKey = head === undefined ? undefined : /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head)?.[1];
    if (wsKey === undefined) return void socket.destroy();
    upgrades++;
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(wsKey)}\r\n\r\n`,
    );
    const reader = new WsReader();
    const frames: Frame[] = [];
    const watchers: Array<() => void> = [];
    let hello: Frame | undefined;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const link: Omit<AgentLink, 'hello'> = {
      frames,
      socket,
      send: (frame) => socket.write(wsFrame(encodeFrame(frame), false)),
      sendMessage: (payload) => socket.write(wsFrame(payload, false)),
      received: (match, count, boundMs = 15_000) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${frames.filter(match).length} of ${count} frames in ${boundMs} ms`)), boundMs);
          const check = (): void => {
            const hits = frames.filter(match);
            if (hits.length < count) return void watchers.push(check);
            clearTimeout(timer);
            resolve(hits);
          };
          check();
        }),
      closed,
    };
    socket.on('data', (chunk: Buffer) => {
      for (const payload of reader.push(chunk)) {
        let frame: Frame;
        try {
          frame = decodeFrame(payload, 1 << 20);
        } catch {
          // Our own agent sent something that is not spoke/1: the test that waits on it will say so.
          return void socket.destroy();
        }
        if (hello === undefined) {
          hello = frame;
          socket.write(wsFrame(encodeFrame(rawHello({ role: 'responder', id: 'evil-hub', sessionWindow: 16 << 20 })), false));
          const full = { ...link, hello };
          const take = waiting.shift();
          if (take) take(full);
          else ready.push(full);
        } else frames.push(frame);
      }
      for (const w of watchers.splice(0)) w();
    });
    socket.resume();
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get upgrades() {
      return upgrades;
    },
    nextLink: (boundMs = 20_000) =>
      new Promise((resolve, reject) => {
        const now = ready.shift();
        if (now) return resolve(now);
        const timer = setTimeout(() => reject(new Error(`no agent connection in ${boundMs} ms`)), boundMs);
        waiting.push((link) => {
          clearTimeout(timer);
          resolve(link);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
