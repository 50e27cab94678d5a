import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpokeError } from '@spoke/transport-core';
import { createNetDialer, parseTarget, silentLogger } from '@spoke/transport-core';
import { createHub, createSpokeDialer, type Hub, type HubReverseOptions, type SpokeDialer } from '@spoke/hub';
import { createSessionPair } from '@spoke/transport-core/testing';
// The client side's routing is internal: reached from the source to play a hub that asks for more.
import { ReverseRoutes } from '../src/reverse-client.js';
import { ReverseListeners, resolveReverseOptions } from '../src/reverse-listeners.js';

const tokens = { agent: 'reverse-agent-token-1', client: 'reverse-client-token-2', other: 'reverse-client-token-3' };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hubWith(reverse: HubReverseOptions | undefined): Promise<Hub> {
  const hub = await createHub({
    agentTokens: [tokens.agent],
    clientTokens: [tokens.client, tokens.other],
    ...(reverse ? { reverse } : {}),
  });
  cleanups.push(() => hub.destroy());
  return hub;
}

function clientOf(hub: Hub, token = tokens.client): SpokeDialer {
  const client = createSpokeDialer({ url: hub.url, token, tls: { fingerprint: hub.fingerprint as string } });
  cleanups.push(() => client.close());
  return client;
}

async function echoServer(): Promise<string> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

async function roundTrip(address: string, text: string): Promise<string> {
  const { host, port } = parseTarget(address) as { host: string; port: number };
  const socket = net.connect(port, host);
  socket.end(text);
  let out = '';
  for await (const chunk of socket) out += String(chunk);
  return out;
}

const direct = createNetDialer();

describe('reverse listeners (hub library)', () => {
  it('a client’s listener on the hub side reaches the client’s local service', async () => {
    const hub = await hubWith({ allow: ['127.0.0.1/32'] });
    const echo = await echoServer();
    const listener = await clientOf(hub).listen('127.0.0.1:0', () => direct.dial(echo));
    expect(listener.bound).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await roundTrip(listener.bound, 'back through the client')).toBe('back through the client');
    expect(hub.metrics()).toMatch(/^spoke_hub_reverse_listeners 1$/m);
  });

  it('is refused with ERR_DIAL_DENIED when off, outside the rules, or for a token not in reverse.tokens', async () => {
    const off = await hubWith(undefined);
    const denied = async (client: SpokeDialer, bind: string): Promise<SpokeError> =>
      (await client.listen(bind, () => direct.dial('127.0.0.1:9')).catch((e: unknown) => e)) as SpokeError;
    const a = await denied(clientOf(off), '127.0.0.1:0');
    expect([a.code, a.message]).toEqual(['ERR_DIAL_DENIED', expect.stringContaining('--allow-reverse') as string]);
    const on = await hubWith({ allow: ['127.0.0.1/32:20000-20010'], tokens: [tokens.client] });
    expect((await denied(clientOf(on), '0.0.0.0:20001')).code).toBe('ERR_DIAL_DENIED');
    expect((await denied(clientOf(on), '127.0.0.1:0')).message).toContain('port 0 needs a rule without a port range');
    expect((await denied(clientOf(on, tokens.other), '127.0.0.1:20001')).message).toContain('may not open reverse listeners');
    // Port 0 needs a portless rule for that very address, not any portless rule.
    const mixed = await hubWith({ allow: ['10.0.0.0/8', '127.0.0.1:1-1000'] });
    expect((await denied(clientOf(mixed), '127.0.0.1:0')).message).toContain('port 0 needs a rule without a port range');
  });

  it('bounds listeners per client; a listener closes when its client’s session ends', async () => {
    const hub = await hubWith({ allow: ['127.0.0.1/32'], maxListenersPerClient: 1 });
    const client = clientOf(hub);
    const listener = await client.listen('127.0.0.1:0', () => direct.dial('127.0.0.1:9'));
    const err = (await client.listen('127.0.0.1:0', () => direct.dial('127.0.0.1:9')).catch((e: unknown) => e)) as SpokeError;
    expect(err.code).toBe('ERR_TOO_MANY_STREAMS');
    await client.close();
    await listener.closed;
    const { host, port } = parseTarget(listener.bound) as { host: string; port: number };
    await expect.poll(() => hub.metrics()).toMatch(/^spoke_hub_reverse_listeners 0$/m);
    const refused = net.connect(port, host);
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('the client connects only the listeners it opened: a hub dialling anything else is refused', async () => {
    const echo = await echoServer();
    const routes = new ReverseRoutes();
    const asked: string[] = [];
    // A hub-shaped peer: it opens the listener (on paper) and then dials what it likes.
    const pair = await createSessionPair('memory', {
      initiator: { onDial: routes.onDial },
      responder: { onListen: () => '127.0.0.1:41000' },
    });
    cleanups.push(() => pair.close());
    await routes.listen(
      pair.initiator,
      '127.0.0.1:0',
      () => {
        asked.push('connect');
        return direct.dial(echo);
      },
      undefined,
    );
    const foreign = (await pair.responder.dial('10.0.0.5:22').catch((e: unknown) => e)) as SpokeError;
    expect([foreign.code, foreign.message]).toEqual(['ERR_DIAL_DENIED', expect.stringContaining('no listener it opened') as string]);
    expect(asked).toEqual([]);
    const stream = await pair.responder.dial('127.0.0.1:41000');
    stream.end('only what -R named');
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    expect(text).toBe('only what -R named');
    expect(asked).toEqual(['connect']);
  });

  it('requests still binding count against maxListenersPerClient: several at once cannot pass the bound together', async () => {
    const pair = await createSessionPair('memory');
    cleanups.push(() => pair.close());
    const listeners = new ReverseListeners(resolveReverseOptions({ allow: ['127.0.0.1/32'], maxListenersPerClient: 2 }), silentLogger);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, () => listeners.open(pair.responder, { host: '127.0.0.1', port: 0 }, true, 'test')),
    );
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'bound' : (o.reason as SpokeError).code))).toEqual([
      'bound',
      'bound',
      'ERR_TOO_MANY_STREAMS',
      'ERR_TOO_MANY_STREAMS',
    ]);
    expect(listeners.size).toBe(2);
    pair.responder.destroy();
    expect(listeners.size).toBe(0);
  });

  it('a dozen listeners on one session need one close listener each side (no MaxListenersExceededWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    cleanups.push(() => void process.off('warning', onWarning));
    const hub = await hubWith({ allow: ['127.0.0.1/32'], maxListenersPerClient: 12 });
    const client = clientOf(hub);
    const opened = await Promise.all(Array.from({ length: 12 }, () => client.listen('127.0.0.1:0', () => direct.dial('127.0.0.1:9'))));
    expect(new Set(opened.map((l) => l.bound)).size).toBe(12);
    expect(hub.metrics()).toMatch(/^spoke_hub_reverse_listeners 12$/m);
    await client.close();
    await expect.poll(() => hub.metrics()).toMatch(/^spoke_hub_reverse_listeners 0$/m);
    // Emitted on the next tick after the listener that crossed the limit.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});
