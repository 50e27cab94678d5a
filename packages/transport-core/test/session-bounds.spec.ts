import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError, createDuplexPair, sessionOverStream, type Session, type SessionOptions } from '@spoke/transport-core';
import { encodeFrame, lengthPrefix, type Frame } from '@spoke/transport-core/protocol';
import { createSessionPair, echo, rawHello, readAll, serveTcp } from '@spoke/transport-core/testing';

// Issue 17 #1: a peer that sends frames the session answers and reads none of the answers
// must not grow this process without bound, nor stay alive forever by sending alone.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const wire = (f: Frame): Buffer => {
  const body = encodeFrame(f);
  return Buffer.concat([lengthPrefix(body.length), body]);
};

const HELLO = wire(rawHello({ id: 'attacker', initialWindow: 16 * 1024 * 1024, sessionWindow: 2 ** 31 - 1 }));

/** Buffers held by this process (where queued frames live): the session runs in it. */
const held = (): number => {
  const m = process.memoryUsage();
  return m.arrayBuffers + m.external;
};

/**
 * Our responder session on one end of a real loopback TCP connection, a raw socket on the
 * other that never reads (it only lets Node fill its small readable buffer once).
 */
async function rawTcpPeer(options: Partial<SessionOptions> = {}): Promise<{ session: Session; socket: net.Socket }> {
  const server = net.createServer({ noDelay: true });
  const accepted = new Promise<Session>((resolve) =>
    server.once('connection', (s) => resolve(sessionOverStream(s, { role: 'responder', ...options }, `tcp attacker ${s.remotePort}`))),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, noDelay: true });
  socket.on('error', () => {});
  const session = await accepted;
  session.on('error', () => {});
  cleanups.push(async () => {
    session.destroy();
    socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  await once(socket, 'connect');
  socket.write(HELLO);
  await session.ready();
  return { session, socket };
}

/**
 * Writes `next()` chunks as fast as the socket takes them (honouring its own backpressure,
 * so the attacker's memory stays flat) until `stop()` or the socket dies.
 */
async function flood(socket: net.Socket, next: () => Buffer, stop: () => boolean): Promise<void> {
  while (!stop() && !socket.destroyed) {
    if (!socket.write(next())) {
      await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    }
  }
}

/** Samples `held()` until `done` settles; resolves with the peak seen. */
async function peakHeld(done: Promise<unknown>): Promise<number> {
  let peak = held();
  const t = setInterval(() => (peak = Math.max(peak, held())), 10);
  try {
    await done;
  } finally {
    clearInterval(t);
  }
  return Math.max(peak, held());
}

/** A well-behaved session pair beside the attack, with an echo target. */
async function bystander(): Promise<{ check(): Promise<void> }> {
  const target = await serveTcp(echo);
  const p = await createSessionPair('tcp');
  cleanups.push(async () => {
    await p.close();
    await target.close();
  });
  await p.initiator.ready();
  const check = async (): Promise<void> => {
    const s = await p.initiator.dial(target.target, { signal: AbortSignal.timeout(5_000) });
    s.end('still here');
    expect((await readAll(s)).toString()).toBe('still here');
    expect(await p.initiator.ping({ signal: AbortSignal.timeout(5_000) })).toBeGreaterThanOrEqual(0);
  };
  await check();
  return { check };
}

/** Ends the session within `ms`, or says it did not. */
async function endsWithin(session: Session, ms: number): Promise<SpokeError | 'still open'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'still open'>((r) => (timer = setTimeout(() => r('still open'), ms)));
  const result = await Promise.race([session.closed().then(() => session.closeError as SpokeError), deadline]);
  clearTimeout(timer);
  return result;
}

// Generous for the kernel buffers and a GC that runs late; without the bound it grows by hundreds of MiB.
const MEMORY_BOUND = 32 * 1024 * 1024;

describe('spoke/1 session bounds: a peer that sends and never reads', () => {
  it.each([
    [
      'PINGs',
      (): (() => Buffer) => {
        // One 64 KiB chunk of PINGs, written again and again: the attacker allocates nothing.
        const ping = wire({ type: 'PING', nonce: 7 });
        const chunk = Buffer.concat(Array.from({ length: Math.floor(65536 / ping.length) }, () => ping));
        return () => chunk;
      },
    ],
    [
      'bad DIALs',
      (): (() => Buffer) => {
        let id = 1;
        return () => Buffer.concat(Array.from({ length: 512 }, () => wire({ type: 'DIAL', stream: (id += 2), target: 'no-port' })));
      },
    ],
  ])('%s: the session stops reading and ends with ERR_FLOW_CONTROL, memory stays bounded, others keep working', async (_, chunks) => {
    const others = await bystander();
    const before = held();
    const { session, socket } = await rawTcpPeer();
    let stop = false;
    const attack = flood(socket, chunks(), () => stop);
    const ending = endsWithin(session, 10_000);
    const peak = await peakHeld(ending);
    stop = true;
    socket.destroy();
    await attack;
    const err = await ending;
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_FLOW_CONTROL');
    expect((err as SpokeError).message).toMatch(/read none of our frames/);
    expect(peak - before).toBeLessThan(MEMORY_BOUND);
    await others.check();
  });

  it('a peer that sends a trickle of PINGs but reads nothing is dead after the idle timeout', async () => {
    // The session streams a firehose to the peer until the carrier is congested; the peer
    // keeps sending a PING every 20 ms, which used to reset the idle timer forever.
    const { session, socket } = await rawTcpPeer({
      keepaliveMs: 100,
      idleTimeoutMs: 600,
      onDial: (): Duplex => {
        const [near, far] = createDuplexPair();
        const block = Buffer.alloc(64 * 1024, 1);
        const pump = (): void => {
          while (!far.destroyed && far.write(block));
        };
        far.on('drain', pump);
        far.on('error', () => {});
        far.resume();
        pump();
        return near;
      },
    });
    socket.write(wire({ type: 'DIAL', stream: 1, target: 'firehose.local:1' }));
    const ping = wire({ type: 'PING', nonce: 1 });
    const trickle = setInterval(() => socket.write(ping), 20);
    cleanups.push(() => clearInterval(trickle));
    const t0 = performance.now();
    const err = await endsWithin(session, 5_000);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    expect((err as SpokeError).message).toMatch(/took none of our frames/);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('maxControlBacklog is validated', () => {
    const [a, b] = createDuplexPair();
    b.on('error', () => {});
    cleanups.push(() => void a.destroy());
    for (const bad of [0, 1024, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => sessionOverStream(a, { role: 'initiator', maxControlBacklog: bad })).toThrow(/maxControlBacklog/);
    }
  });
});
