import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError, createDuplexPair, sessionOverStream, type Session, type SessionOptions } from '@spoke/transport-core';
import { LengthPrefixedReader, decodeFrame, encodeFrame, lengthPrefix, type Frame } from '@spoke/transport-core/protocol';
import {
  closed,
  createSessionPair,
  echo,
  rawHello,
  readAll,
  readDigest,
  serveTcp,
  waitFor,
  waitForStall,
  writeBytes,
  type SessionPair,
} from '@spoke/transport-core/testing';
// The contention policy's tuning is internal: tests reach it from the source.
import { tuneSession, type SessionTuning } from '../src/mux/session-options.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pair(carrier: 'memory' | 'tcp', options?: Parameters<typeof createSessionPair>[1]): Promise<SessionPair> {
  const p = await createSessionPair(carrier, options);
  cleanups.push(() => p.close());
  await p.initiator.ready();
  await p.responder.ready();
  return p;
}

async function echoTarget(): Promise<{ host: string; port: number }> {
  const s = await serveTcp(echo);
  cleanups.push(() => s.close());
  return s.target as { host: string; port: number };
}

/**
 * A hand-driven peer: our Session on one end of a pipe, raw frames on the other.
 * Used only for what a well-behaved peer never does (the same paths run against
 * real sessions in session-compliance.spec.ts).
 */
function rawPeer(options: Partial<SessionOptions> = {}, tuning: Partial<SessionTuning> = {}) {
  const [ours, theirs] = createDuplexPair({ highWaterMark: 1 << 20 });
  const session = sessionOverStream(ours, tuneSession({ role: 'initiator', ...options }, tuning), 'raw');
  session.on('error', () => {});
  cleanups.push(() => {
    session.destroy();
    theirs.destroy();
  });
  const received: Frame[] = [];
  const reader = new LengthPrefixedReader(1 << 24);
  theirs.on('data', (chunk: Buffer) => reader.push(chunk, (f) => received.push(decodeFrame(f, 1 << 24))));
  theirs.on('error', () => {});
  const sendRaw = (b: Buffer): void => {
    theirs.write(Buffer.concat([lengthPrefix(b.length), b]));
  };
  const send = (f: Frame): void => sendRaw(encodeFrame(f));
  const waitForFrame = async <T extends Frame['type']>(type: T): Promise<Extract<Frame, { type: T }>> => {
    await waitFor(() => received.some((f) => f.type === type), `a ${type} frame from the session`);
    return received.find((f) => f.type === type) as Extract<Frame, { type: T }>;
  };
  return {
    session,
    received,
    theirs,
    sendRaw,
    send,
    hello: (over: Partial<Extract<Frame, { type: 'HELLO' }>> = {}) => sendRaw(encodeFrame(rawHello({ role: 'responder', ...over }))),
    waitFor: waitForFrame,
    /** The session dials and the raw side accepts: the session's stream and its id. */
    openStream: async (): Promise<{ stream: Duplex; id: number }> => {
      const dialing = session.dial('a.local:1');
      const dial = await waitForFrame('DIAL');
      send({ type: 'DIAL_OK', stream: dial.stream });
      return { stream: await dialing, id: dial.stream };
    },
  };
}

describe('spoke/1 session: streams', () => {
  it('either side opens streams; without onDial they arrive as "stream" events', async () => {
    const p = await pair('memory', { initiator: {} });
    p.initiator.on('stream', (s: Duplex) => echo(s));
    const s = await p.responder.dial('anything.local:1');
    s.end('from the responder');
    expect((await readAll(s)).toString()).toBe('from the responder');
  });

  it('a peer with neither onDial nor listeners denies dials with ERR_DIAL_DENIED', async () => {
    const p = await pair('memory');
    const err = await p.responder.dial('x.local:1').catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_DIAL_DENIED');
  });

  it('carries the handler’s SpokeError code and message back to the dialler', async () => {
    const p = await pair('tcp', {
      responder: {
        onDial: (t) => {
          throw new SpokeError('ERR_DIAL_DENIED', `${'host' in t ? t.host : t.path} is outside --allow; add it to the allow list`);
        },
      },
    });
    const err = await p.initiator.dial('10.1.2.3:22').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_DIAL_DENIED');
    expect((err as SpokeError).message).toContain('10.1.2.3 is outside --allow');
  });

  it('answers ping with a round-trip time', async () => {
    const p = await pair('tcp');
    const rtt = await p.initiator.ping({ signal: AbortSignal.timeout(5000) });
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it('limits concurrent streams and pending dials with ERR_TOO_MANY_STREAMS', async () => {
    const p = await pair('memory', { responder: { maxPendingDials: 2, onDial: () => new Promise<Duplex>(() => {}) } });
    const a = p.initiator.dial('a.local:1');
    const b = p.initiator.dial('b.local:1');
    const err = await p.initiator.dial('c.local:1').catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_TOO_MANY_STREAMS');
    p.initiator.destroy();
    await expect(a).rejects.toMatchObject({ code: 'ERR_TUNNEL_CLOSED' });
    await expect(b).rejects.toMatchObject({ code: 'ERR_TUNNEL_CLOSED' });
  });

  it('validates options with ERR_BAD_OPTION', () => {
    const [a, b] = createDuplexPair();
    b.on('error', () => {});
    for (const bad of [
      { maxFrame: 10 },
      { initialWindow: 100 },
      { keepaliveMs: 100, idleTimeoutMs: 50 },
      { role: 'boss' },
    ] as Partial<SessionOptions>[]) {
      expect(() => sessionOverStream(a, { role: 'initiator', ...bad })).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    }
    a.destroy();
  });
});

describe('spoke/1 session: flow control and fairness', () => {
  it('a paused bulk stream does not stall a second stream, and memory stays bounded while 1 GiB is offered', async () => {
    const p = await pair('tcp');
    let sinkStream: Duplex | undefined;
    const sink = await serveTcp((s) => {
      sinkStream = s;
      s.pause(); // the far reader never reads
    });
    cleanups.push(() => sink.close());
    const target = await echoTarget();
    const bulk = await p.initiator.dial(sink.target);
    bulk.on('error', () => {});
    const before = process.memoryUsage();
    let written = 0;
    const writer = writeBytes(bulk, 1024 * 1024 * 1024, { onProgress: (n) => (written = n) }).catch(() => undefined);
    // Wait for the writer to stall against the paused reader.
    await waitForStall(() => written, 'the bulk writer to stall', { quietPolls: 20 });
    expect(sinkStream).toBeDefined();
    // Stream window (256 KiB) + kernel buffers + one Writable buffer; far from 1 GiB.
    expect(written).toBeLessThan(32 * 1024 * 1024);

    const t0 = performance.now();
    const small = await p.initiator.dial(target);
    small.end('still flowing');
    expect((await readAll(small)).toString()).toBe('still flowing');
    expect(performance.now() - t0).toBeLessThan(5_000);

    const after = process.memoryUsage();
    expect(after.arrayBuffers + after.heapUsed - (before.arrayBuffers + before.heapUsed)).toBeLessThan(128 * 1024 * 1024);
    bulk.destroy();
    await writer;
  });

  // Regression: credit was computed in _read(), which Readable calls before it removes the
  // chunk it returns; a reader that took the whole buffer in one read() granted nothing and
  // was never asked again, so both sides waited forever (a window equal to the buffer).
  it.each([
    [
      'an async iterator',
      async (s: Duplex) => {
        const h = createHash('sha256');
        for await (const c of s) h.update(c as Buffer);
        return h.digest('hex');
      },
    ],
    [
      '"readable" + read() until null',
      (s: Duplex) =>
        new Promise<string>((resolve, reject) => {
          const h = createHash('sha256');
          s.on('readable', () => {
            for (let c = s.read() as Buffer | null; c !== null; c = s.read() as Buffer | null) h.update(c);
          });
          s.once('end', () => resolve(h.digest('hex')));
          s.once('error', reject);
        }),
    ],
    [
      'a reader that pauses until the window is full, then drains it',
      async (s: Duplex) => {
        s.pause();
        await waitFor(() => s.readableLength >= 64 * 1024, 'the window to fill');
        const digest = readDigest(s);
        s.resume(); // an explicit pause() outlives new 'data' listeners
        return (await digest).sha256;
      },
    ],
  ])('every byte arrives through %s when the window equals the read buffer', async (_name, consume) => {
    const p = await pair('memory', { initiator: { initialWindow: 64 * 1024, maxFrame: 16 * 1024 } });
    const received = new Promise<string>((resolve, reject) =>
      p.initiator.once('stream', (s: Duplex) => {
        s.end(); // nothing to send back
        consume(s).then(resolve, reject);
      }),
    );
    const s = await p.responder.dial('sink.local:1');
    const done = closed(s);
    s.resume();
    const sent = await writeBytes(s, 4 * 1024 * 1024);
    expect(await received).toBe(sent.sha256);
    expect(await done).toBeUndefined();
  });

  describe('contention policy (PROTOCOL.md §5): latency while streams compete, throughput while one is alone', () => {
    // A long hold keeps "competing" from expiring between steps on a loaded machine.
    async function rawStreams(n: number, peerWindow = 1 << 20) {
      const raw = rawPeer({}, { contentionHoldMs: 600_000 });
      raw.hello({ initialWindow: peerWindow, sessionWindow: 1 << 24 });
      await raw.session.ready();
      const streams: Array<Duplex & { id: number }> = [];
      for (let i = 0; i < n; i++) {
        const dialing = raw.session.dial('a.local:1');
        await waitFor(() => raw.received.filter((f) => f.type === 'DIAL').length === i + 1, 'a DIAL');
        const dial = raw.received.filter((f) => f.type === 'DIAL')[i] as Extract<Frame, { type: 'DIAL' }>;
        raw.send({ type: 'DIAL_OK', stream: dial.stream });
        const stream = (await dialing) as Duplex & { id: number };
        cleanups.push(() => void stream.destroy()); // before the session goes: no stray errors
        streams.push(stream);
      }
      const data = (stream: number) =>
        raw.received.filter((f): f is Extract<Frame, { type: 'DATA' }> => f.type === 'DATA' && f.stream === stream);
      const bytes = (stream: number) => data(stream).reduce((n, f) => n + f.data.length, 0);
      return { raw, streams, data, bytes };
    }

    it('a stream alone sends frameSize frames; once two send, frames shrink to sharedFrameSize', async () => {
      const { raw, streams, data, bytes } = await rawStreams(2, 64 * 1024);
      const [a, b] = streams as [Duplex & { id: number }, Duplex & { id: number }];
      a.write(Buffer.alloc(256 * 1024));
      await waitFor(() => bytes(a.id) === 64 * 1024, 'a’s first window');
      expect(data(a.id).map((f) => f.data.length)).toEqual([32 * 1024, 32 * 1024]);
      // b joins with its own window; from its second frame on, both streams compete.
      b.write(Buffer.alloc(256 * 1024));
      await waitFor(() => bytes(b.id) === 64 * 1024, 'b’s first window');
      for (let sent = 64 * 1024; sent < 256 * 1024; sent += 64 * 1024) {
        raw.send({ type: 'WINDOW', stream: a.id, increment: 64 * 1024 });
        raw.send({ type: 'WINDOW', stream: b.id, increment: 64 * 1024 });
        await waitFor(() => bytes(a.id) === sent + 64 * 1024 && bytes(b.id) === sent + 64 * 1024, 'both windows spent');
      }
      const competing = [...data(a.id).slice(2), ...data(b.id).slice(1)];
      expect(competing.length).toBeGreaterThanOrEqual(24);
      expect(Math.max(...competing.map((f) => f.data.length))).toBe(16 * 1024);
    });

    it('while two streams receive, each keeps at most sharedWindow of credit open; alone, with its reader keeping up, soloWindow', async () => {
      const { raw, streams } = await rawStreams(2);
      const [a, b] = streams as [Duplex & { id: number }, Duplex & { id: number }];
      for (const s of streams) s.resume();
      const granted = (id: number) => raw.received.reduce((n, f) => (f.type === 'WINDOW' && f.stream === id ? n + f.increment : n), 0);
      const initial = 256 * 1024;
      // Alone, read as it arrives: stream a gets back what it consumed, and its window grows to soloWindow (1 MiB).
      for (let i = 0; i < 16; i++) raw.send({ type: 'DATA', stream: a.id, data: Buffer.alloc(16 * 1024) });
      await waitFor(() => initial + granted(a.id) - 256 * 1024 === 1024 * 1024, 'a’s solo window open');
      // Both receive, interleaved (each within its credit): once a has used up what it was given
      // alone, credit open per stream falls to sharedWindow (32 KiB).
      let sentA = 256 * 1024;
      let sentB = 0;
      const open = (id: number, sent: number): number => initial + granted(id) - sent;
      while (sentA < 256 * 1024 + 1024 * 1024 + 256 * 1024) {
        for (const [s, sent] of [
          [a, sentA],
          [b, sentB],
        ] as const) {
          if (open(s.id, sent) < 8 * 1024) await waitFor(() => open(s.id, sent) >= 8 * 1024, 'credit');
          raw.send({ type: 'DATA', stream: s.id, data: Buffer.alloc(8 * 1024) });
        }
        sentA += 8 * 1024;
        sentB += 8 * 1024;
      }
      await waitFor(() => open(b.id, sentB) >= 16 * 1024 && b.readableLength === 0 && a.readableLength === 0, 'both streams consumed');
      expect(open(a.id, sentA)).toBeLessThanOrEqual(32 * 1024);
      expect(open(b.id, sentB)).toBeLessThanOrEqual(32 * 1024);
    });

    it('alone, a reader that falls behind keeps only initialWindow open (what it holds unread is bounded by it)', async () => {
      const { raw, streams } = await rawStreams(1);
      const [a] = streams as [Duplex & { id: number }];
      const granted = (): number => raw.received.reduce((n, f) => (f.type === 'WINDOW' && f.stream === a.id ? n + f.increment : n), 0);
      // 256 KiB arrive while nobody reads; then the reader takes 128 KiB and stops.
      for (let i = 0; i < 16; i++) raw.send({ type: 'DATA', stream: a.id, data: Buffer.alloc(16 * 1024) });
      await waitFor(() => a.readableLength === 256 * 1024, 'the window filled, unread');
      expect(granted()).toBe(0);
      for (let n = 0; n < 128 * 1024;) n += (a.read(16 * 1024) as Buffer).length;
      await waitFor(() => granted() > 0, 'a grant for what was read');
      // 128 KiB unread: the open credit is initialWindow minus that, not soloWindow.
      expect(256 * 1024 + granted() - 256 * 1024 + a.readableLength).toBe(256 * 1024);
    });

    it('validates the policy tuning with ERR_BAD_OPTION', () => {
      for (const bad of [
        { soloWindow: 1024 },
        { soloWindow: 64 * 1024 * 1024 },
        { sharedWindow: 512 },
        { sharedWindow: 300_000 },
        { frameSize: 100 },
        { frameSize: 32768, sharedFrameSize: 65536 },
        { contentionHoldMs: 0 },
      ]) {
        const [x] = createDuplexPair();
        expect(() => sessionOverStream(x, tuneSession({ role: 'initiator' }, bad))).toThrowError(
          expect.objectContaining({ code: 'ERR_BAD_OPTION' }),
        );
      }
    });
  });

  it('10,000 concurrent streams open, echo and close on one session', async () => {
    const p = await pair('tcp', {
      responder: {
        maxPendingDials: 10_000,
        onDial: () => {
          const [near, far] = createDuplexPair();
          echo(far);
          return near;
        },
      },
    });
    const streams = await Promise.all(Array.from({ length: 10_000 }, (_, i) => p.initiator.dial(`s${i}.local:1`)));
    expect(p.initiator.stats.streams).toBe(10_000);
    const replies = await Promise.all(
      streams.map((s, i) => {
        s.end(`#${i}`);
        return readAll(s).then((b) => b.toString() === `#${i}`);
      }),
    );
    expect(replies.every(Boolean)).toBe(true);
    await waitFor(() => p.initiator.stats.streams === 0 && p.responder.stats.streams === 0, 'all streams released');
  });
});

describe('spoke/1 session: liveness and shutdown', () => {
  it('declares a silent peer dead within the idle timeout; its streams fail with ERR_TUNNEL_CLOSED', async () => {
    const raw = rawPeer({ keepaliveMs: 50, idleTimeoutMs: 300 });
    raw.hello();
    await raw.session.ready();
    const { stream: s } = await raw.openStream();
    const t0 = performance.now();
    const err = await closed(s);
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    expect((err as SpokeError).message).toMatch(/considered dead/);
    expect(raw.received.some((f) => f.type === 'PING')).toBe(true);
    expect(elapsed).toBeLessThan(3_000);
    expect(raw.session.state).toBe('closed');
  });

  it('close() drains: GOAWAY, no new dials, open streams finish, then both sides close cleanly', async () => {
    const p = await pair('tcp');
    const target = await echoTarget();
    const s = await p.initiator.dial(target);
    const closing = p.initiator.close();
    const err = await p.initiator.dial(target).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    await waitFor(() => p.responder.state === 'draining', 'the responder to see GOAWAY');
    const refused = await p.responder.dial('x.local:1').catch((e: unknown) => e);
    expect((refused as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    s.end('drained');
    expect((await readAll(s)).toString()).toBe('drained');
    await closing;
    await p.responder.closed();
    expect(p.initiator.closeError).toBeUndefined();
    expect(p.responder.closeError).toBeUndefined();
  });

  it('destroy(err) fails every stream at once and the peer learns the session is gone', async () => {
    const p = await pair('tcp');
    const target = await echoTarget();
    const s = await p.initiator.dial(target);
    const peerClosed = new Promise((r) => p.responder.once('close', r));
    p.initiator.destroy(new SpokeError('ERR_INTERNAL', 'test teardown'));
    const err = await closed(s);
    expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    expect(await peerClosed).toMatchObject({ code: 'ERR_TUNNEL_CLOSED' });
  });

  it('onHello can refuse the peer; the peer learns ERR_AUTH_FAILED', async () => {
    const p = await createSessionPair('tcp', {
      responder: {
        onHello: (peer) => {
          if (peer.auth !== 'right') throw new SpokeError('ERR_AUTH_FAILED', 'bad token; check --token-file');
        },
      },
      initiator: { auth: 'wrong' },
    });
    cleanups.push(() => p.close());
    const ready = p.initiator.ready();
    await expect(ready).rejects.toMatchObject({ code: 'ERR_AUTH_FAILED' });
    await expect(ready).rejects.toThrow('check --token-file');
    await p.initiator.closed();
    expect(p.initiator.closeError?.code).toBe('ERR_AUTH_FAILED');
  });
});

describe('spoke/1 session: protocol violations end with a coded error the peer hears', () => {
  it('a frame before HELLO → ERR_PROTOCOL', async () => {
    const raw = rawPeer();
    raw.send({ type: 'PING', nonce: 1 });
    const goaway = await raw.waitFor('GOAWAY');
    expect(goaway.code).toBe('ERR_PROTOCOL');
    expect(raw.session.closeError?.code).toBe('ERR_PROTOCOL');
  });

  it('an unsupported version → ERR_VERSION_MISMATCH', async () => {
    const raw = rawPeer();
    raw.hello({ versions: [9] });
    expect((await raw.waitFor('GOAWAY')).code).toBe('ERR_VERSION_MISMATCH');
    await expect(raw.session.ready()).rejects.toMatchObject({ code: 'ERR_VERSION_MISMATCH' });
  });

  it('the same role on both sides → ERR_PROTOCOL', async () => {
    const raw = rawPeer();
    raw.hello({ role: 'initiator' });
    expect((await raw.waitFor('GOAWAY')).code).toBe('ERR_PROTOCOL');
  });

  it('no HELLO in time → ERR_HANDSHAKE_TIMEOUT', async () => {
    const raw = rawPeer({ handshakeTimeoutMs: 100 });
    expect((await raw.waitFor('GOAWAY')).code).toBe('ERR_HANDSHAKE_TIMEOUT');
    await expect(raw.session.ready()).rejects.toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT' });
  });

  it('an unknown frame type or garbage body → ERR_PROTOCOL', async () => {
    const raw = rawPeer();
    raw.hello();
    await raw.session.ready();
    raw.sendRaw(Buffer.from([0x7f, 1, 2, 3]));
    expect((await raw.waitFor('GOAWAY')).code).toBe('ERR_PROTOCOL');
  });

  it('an oversized frame → ERR_FRAME_TOO_LARGE before it is buffered', async () => {
    const raw = rawPeer({ maxFrame: 1024 });
    raw.hello();
    await raw.session.ready();
    raw.theirs.write(lengthPrefix(100 * 1024 * 1024));
    expect((await raw.waitFor('GOAWAY')).code).toBe('ERR_FRAME_TOO_LARGE');
  });

  it('DATA for a stream that was never opened → ERR_PROTOCOL', async () => {
    const raw = rawPeer();
    raw.hello();
    await raw.session.ready();
    raw.send({ type: 'DATA', stream: 99, data: Buffer.from('x') });
    const goaway = await raw.waitFor('GOAWAY');
    expect(goaway.code).toBe('ERR_PROTOCOL');
    expect(goaway.message).toMatch(/never opened/);
  });

  it('DATA beyond the stream credit resets that stream only, with ERR_FLOW_CONTROL', async () => {
    const raw = rawPeer({ initialWindow: 65536 });
    raw.hello();
    await raw.session.ready();
    const { stream: s, id } = await raw.openStream();
    s.pause();
    for (let i = 0; i < 2; i++) raw.send({ type: 'DATA', stream: id, data: Buffer.alloc(40_000) });
    const err = await closed(s);
    expect((err as SpokeError).code).toBe('ERR_FLOW_CONTROL');
    const reset = await raw.waitFor('RESET');
    expect(reset.code).toBe('ERR_FLOW_CONTROL');
    expect(raw.session.state).toBe('open');
    // The session still works: a ping round-trips.
    const pong = raw.session.ping();
    const ping = await raw.waitFor('PING');
    raw.send({ type: 'PONG', nonce: ping.nonce });
    await expect(pong).resolves.toBeGreaterThanOrEqual(0);
  });

  // Regression (found by the fuzzer): a RESET answering a pending DIAL emitted 'error' on a stream nobody held.
  it('a RESET instead of DIAL_OK fails the dial with the peer’s code and nothing unhandled', async () => {
    const raw = rawPeer();
    raw.hello();
    await raw.session.ready();
    const dialing = raw.session.dial('a.local:1');
    const dial = await raw.waitFor('DIAL');
    raw.send({ type: 'RESET', stream: dial.stream, code: 'ERR_DIAL_DENIED', message: 'not allowed' });
    await expect(dialing).rejects.toMatchObject({ code: 'ERR_DIAL_DENIED' });
    await expect(dialing).rejects.toThrow('not allowed');
    expect(raw.session.stats.streams).toBe(0);
  });

  it('DIAL with the wrong stream-id parity → ERR_PROTOCOL', async () => {
    const raw = rawPeer();
    raw.hello();
    await raw.session.ready();
    raw.send({ type: 'DIAL', stream: 3, target: 'a.local:1' }); // the responder must use even ids
    expect((await raw.waitFor('GOAWAY')).code).toBe('ERR_PROTOCOL');
  });
});

export type { Session };
