import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError, createDuplexPair, formatTarget, sessionOverStream, type Session } from '@spoke/transport-core';
import { LengthPrefixedReader, decodeFrame, encodeFrame, lengthPrefix, type Frame } from '@spoke/transport-core/protocol';
import { createSessionPair, echo, rawHello, readAll, waitFor, type SessionPair } from '@spoke/transport-core/testing';

// LISTEN / LISTEN_OK / LISTEN_ERR (PROTOCOL.md §4a): one side asks, the other opens a listener
// and DIALs what it accepts back on the same session.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pair(options: Parameters<typeof createSessionPair>[1]): Promise<SessionPair> {
  const p = await createSessionPair('memory', options);
  cleanups.push(() => p.close());
  await Promise.all([p.initiator.ready(), p.responder.ready()]);
  return p;
}

describe('spoke/1 session: LISTEN', () => {
  it('the listening side dials back to the requester with the bound address as target', async () => {
    const dialled: string[] = [];
    const p = await pair({
      initiator: {
        onDial: (target) => {
          dialled.push(formatTarget(target));
          const [near, far] = createDuplexPair();
          echo(far);
          return near;
        },
      },
      responder: { onListen: (bind) => `${bind.host}:${bind.port === 0 ? 41234 : bind.port}` },
    });
    expect(p.responder.peer?.features).toEqual([]);
    expect(p.initiator.peer?.features).toEqual(['listen']);
    const bound = await p.initiator.listen('127.0.0.1:0');
    expect(bound).toBe('127.0.0.1:41234');
    const back: Duplex = await p.responder.dial(bound);
    back.end('accepted on the far listener');
    expect((await readAll(back)).toString()).toBe('accepted on the far listener');
    expect(dialled).toEqual(['127.0.0.1:41234']);
  });

  it('a peer that announced no "listen" feature is never sent LISTEN: ERR_VERSION_MISMATCH, the session stays up', async () => {
    const p = await pair({});
    const err = await p.initiator.listen('127.0.0.1:0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_VERSION_MISMATCH');
    expect((err as SpokeError).message).toContain('"listen" feature');
    expect(p.initiator.state).toBe('open');
    expect(await p.initiator.ping({ signal: AbortSignal.timeout(5000) })).toBeGreaterThanOrEqual(0);
  });

  it('carries onListen’s refusal (code and message) back as LISTEN_ERR', async () => {
    const p = await pair({
      responder: {
        onListen: () => {
          throw new SpokeError('ERR_DIAL_DENIED', '0.0.0.0:80 is outside --allow-reverse');
        },
      },
    });
    const err = await p.initiator.listen('0.0.0.0:80').catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_DIAL_DENIED');
    expect((err as SpokeError).message).toContain('outside --allow-reverse');
  });

  it('a pending request fails with ERR_TUNNEL_CLOSED when the session ends, and onListen sees its signal abort', async () => {
    let signal: AbortSignal | undefined;
    const p = await pair({
      responder: {
        onListen: (_bind, info) => {
          signal = info.signal;
          return new Promise<string>(() => {});
        },
      },
    });
    const pending = p.initiator.listen('127.0.0.1:0').catch((e: unknown) => e);
    await waitFor(() => signal !== undefined, 'the LISTEN to arrive');
    p.responder.destroy();
    expect(((await pending) as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    expect(signal?.aborted).toBe(true);
  });

  it('LISTEN to a session without onListen gets LISTEN_ERR ERR_DIAL_DENIED; an answer to a request never sent is ERR_PROTOCOL', async () => {
    const [ours, theirs] = createDuplexPair();
    const session: Session = sessionOverStream(ours, { role: 'responder' }, 'raw');
    cleanups.push(() => {
      session.destroy();
      theirs.destroy();
    });
    const received: Frame[] = [];
    const reader = new LengthPrefixedReader(1 << 20);
    theirs.on('data', (chunk: Buffer) => reader.push(chunk, (f) => received.push(decodeFrame(f))));
    theirs.on('error', () => {});
    const send = (f: Frame): void => {
      const b = encodeFrame(f);
      theirs.write(Buffer.concat([lengthPrefix(b.length), b]));
    };
    send(rawHello({ role: 'initiator', features: ['listen'] }));
    await session.ready();
    expect(session.peer?.features).toEqual(['listen']);
    send({ type: 'LISTEN', request: 1, bind: '127.0.0.1:0' });
    await waitFor(() => received.some((f) => f.type === 'LISTEN_ERR'), 'LISTEN_ERR');
    expect(received.find((f) => f.type === 'LISTEN_ERR')).toMatchObject({ request: 1, code: 'ERR_DIAL_DENIED' });
    send({ type: 'LISTEN_OK', request: 5, bound: '127.0.0.1:1' });
    await session.closed();
    expect(session.closeError?.code).toBe('ERR_PROTOCOL');
  });

  it('decides at most 64 LISTEN requests at once; the one over gets ERR_TOO_MANY_STREAMS', async () => {
    let asked = 0;
    const p = await pair({
      responder: {
        onListen: () => {
          asked++;
          return new Promise<string>(() => {});
        },
      },
    });
    const pending = Array.from({ length: 64 }, () => p.initiator.listen('127.0.0.1:0').catch((e: unknown) => e));
    const over = await p.initiator.listen('127.0.0.1:0').catch((e: unknown) => e);
    expect((over as SpokeError).code).toBe('ERR_TOO_MANY_STREAMS');
    expect(asked).toBe(64);
    p.responder.destroy();
    for (const e of await Promise.all(pending)) expect((e as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
  });
});
