import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Hub } from '@spoke/hub';
import { startHubAndAgent } from './hub-agent.js';

const tokens = { agent: 'agent-limits-token-1', client: 'client-limits-token-2' };
/** Far above every deadline under test, far below Node's defaults (120 s TLS, 60 s headers, 10 s HELLO). */
const CLOSE_BOUND_MS = 4_000;

/** The hub's host and port. */
function addressOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** A raw TCP connection to `url`'s host and port, once connected. */
async function rawConnection(url: string): Promise<net.Socket> {
  const socket = net.connect(addressOf(url));
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** Resolves with the ms until `socket` closes; rejects if it is still open after `boundMs`. */
function closesWithin(socket: net.Socket | WebSocket, boundMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${boundMs} ms`)), boundMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

/** One TCP echo server on loopback. */
async function echoServer(): Promise<{ port: number; close(): void }> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** Dials the echo server through the hub's agent and checks one round trip. */
async function expectDialWorks(hub: Hub, port: number): Promise<void> {
  const stream = await hub.dial(`127.0.0.1:${port}`, { signal: AbortSignal.timeout(5_000) });
  stream.write('ping');
  const [data] = (await once(stream, 'data')) as [Buffer];
  expect(data.toString()).toBe('ping');
  stream.destroy();
}

describe('hub connection limits and pre-authentication deadlines', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(hubExtra: Parameters<typeof startHubAndAgent>[1]): Promise<Hub> {
    const { hub, agent } = await startHubAndAgent(tokens, hubExtra);
    cleanups.push(
      () => hub.destroy(),
      () => agent.destroy(),
    );
    return hub;
  }

  it('closes the 6th connection from one address at once (maxConnectionsPerAddress 5); the connected agent keeps working', async () => {
    const hub = await start({ maxConnectionsPerAddress: 5 });
    const echo = await echoServer();
    cleanups.push(() => echo.close());
    // The agent holds the first connection from 127.0.0.1; four raw ones make five.
    const held: net.Socket[] = [];
    cleanups.push(() => held.forEach((s) => s.destroy()));
    for (let i = 0; i < 4; i += 1) held.push(await rawConnection(hub.url));
    const sixth = await rawConnection(hub.url);
    cleanups.push(() => sixth.destroy());
    expect(await closesWithin(sixth, CLOSE_BOUND_MS)).toBeLessThan(1_000);
    // Accepted before it, so they would have been closed first had the cap counted wrong.
    expect(held.map((s) => s.destroyed)).toEqual([false, false, false, false]);
    await expectDialWorks(hub, echo.port);
    expect(hub.metrics()).toContain('spoke_hub_connections_refused_total{reason="max_connections_per_address"} 1');
  });

  it('closes connections beyond maxConnections at once', async () => {
    const hub = await start({ maxConnections: 2 });
    const first = await rawConnection(hub.url);
    cleanups.push(() => first.destroy());
    const third = await rawConnection(hub.url);
    cleanups.push(() => third.destroy());
    await closesWithin(third, CLOSE_BOUND_MS);
    expect(first.destroyed).toBe(false);
    expect(hub.metrics()).toContain('spoke_hub_connections_refused_total{reason="max_connections"} 1');
  });

  it('cuts a TCP connection that never starts TLS within handshakeTimeoutMs', async () => {
    const hub = await start({ handshakeTimeoutMs: 500 });
    // Timed from before the connect: the hub's deadline starts at its accept, which comes after it,
    // so a test process that is slow to see 'connect' cannot make the deadline look early.
    const before = performance.now();
    const silent = await rawConnection(hub.url);
    cleanups.push(() => silent.destroy());
    await closesWithin(silent, CLOSE_BOUND_MS);
    expect(performance.now() - before).toBeGreaterThanOrEqual(490);
    expect(hub.metrics()).toContain('spoke_hub_connections_refused_total{reason="handshake_timeout"} 1');
  });

  it('cuts a TLS connection that never sends its upgrade request within handshakeTimeoutMs', async () => {
    const hub = await start({ handshakeTimeoutMs: 500 });
    const secure = tls.connect({ ...addressOf(hub.url), ca: hub.certificate, servername: 'localhost' });
    secure.on('error', () => {});
    cleanups.push(() => secure.destroy());
    await once(secure, 'secureConnect');
    await closesWithin(secure, CLOSE_BOUND_MS);
  });

  it('closes an upgraded WebSocket that never sends HELLO within the HELLO deadline', async () => {
    const hub = await start({ handshakeTimeoutMs: 500 });
    const ws = new WebSocket(`${hub.url}/v1/agent`, { ca: hub.certificate, headers: { authorization: `Bearer ${tokens.agent}` } });
    ws.on('error', () => {});
    cleanups.push(() => ws.terminate());
    await once(ws, 'open');
    await closesWithin(ws, CLOSE_BOUND_MS);
  });

  it('the CONNECT front end: a silent client is cut in time, a 6th connection from one address at once', async () => {
    const hub = await start({ handshakeTimeoutMs: 500, maxConnectionsPerAddress: 5, connect: { host: '127.0.0.1', port: 0 } });
    const url = `http://${hub.connectAddress as string}`;
    const held: net.Socket[] = [];
    cleanups.push(() => held.forEach((s) => s.destroy()));
    for (let i = 0; i < 5; i += 1) held.push(await rawConnection(url));
    const sixth = await rawConnection(url);
    cleanups.push(() => sixth.destroy());
    expect(await closesWithin(sixth, CLOSE_BOUND_MS)).toBeLessThan(400);
    expect(await closesWithin(held[0] as net.Socket, CLOSE_BOUND_MS)).toBeLessThan(CLOSE_BOUND_MS);
  });
});
