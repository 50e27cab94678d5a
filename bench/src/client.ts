import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { sessionOverStream, type Session } from '@spoke/transport-core';
import { connectToHub, sessionOverWebSocket } from '@spoke/hub';
import { CHUNK, CHUNK_BYTES, OP_ECHO, OP_GET, OP_PUSH, sizedRequest } from './target-protocol.js';

/** Something that opens a stream to the benchmark target: a relay connection or a session dial. */
export type Opener = () => Promise<Duplex>;

/** A loopback TCP connection (resolves once connected). */
export async function tcpConnect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
  await once(socket, 'connect');
  return socket;
}

/** A spoke/1 session to the relay over a WebSocket (`ws`) or length-prefixed TCP (`tcp`), handshake done. */
export async function connectSession(carrier: 'ws' | 'tcp', port: number): Promise<Session> {
  const options = { role: 'initiator' as const, id: 'bench-client' };
  let session: Session;
  if (carrier === 'ws') {
    // The hub client's own connect: same WebSocket options (and masking) as production.
    const ws = await connectToHub({
      url: `ws://127.0.0.1:${port}`,
      path: '/',
      insecurePlaintext: true,
      signal: AbortSignal.timeout(10_000),
    });
    session = sessionOverWebSocket(ws, options, `ws 127.0.0.1:${port}`);
  } else {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    session = sessionOverStream(socket, options, `tcp 127.0.0.1:${port}`);
  }
  await session.ready({ signal: AbortSignal.timeout(10_000) });
  return session;
}

/** Opens streams to the target through a session. */
export function sessionOpener(session: Session, targetPort: number): Opener {
  return () => session.dial({ host: '127.0.0.1', port: targetPort }, { signal: AbortSignal.timeout(30_000) });
}

/** Opens plain TCP connections (through a relay, or straight to the target). */
export function tcpOpener(port: number): Opener {
  return () => tcpConnect(port);
}

// Settles with `work`, or rejects if the stream errors or closes first, so a broken path fails the run instead of hanging it.
function guarded<T>(stream: Duplex, what: string, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    // A normal end also closes the stream, possibly before `work`'s promise chain settles: give it a turn.
    const onClose = (): void => void setImmediate(() => reject(new Error(`${what}: the stream closed early`)));
    stream.once('error', onError);
    stream.once('close', onClose);
    work.then(resolve, reject).finally(() => {
      stream.off('error', onError);
      stream.off('close', onClose);
    });
  });
}

async function readExactly(stream: Duplex, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      parts.push(chunk);
      got += chunk.length;
      if (got >= n) {
        stream.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    stream.on('data', onData);
  });
}

/**
 * Pushes `bytes` to the target's sink in 64 KiB writes (honouring
 * backpressure) and waits for the sink's byte count (no half-close needed).
 * Returns milliseconds from the first write to the count's arrival.
 */
export async function push(stream: Duplex, bytes: number): Promise<number> {
  stream.on('error', () => {}); // surfaced through guarded()
  const t0 = performance.now();
  const done = (async () => {
    const reply = await readExactly(stream, 8);
    const count = Number(reply.readBigUInt64BE(0));
    if (count !== bytes) throw new Error(`the sink counted ${count} bytes, expected ${bytes}`);
    return performance.now() - t0;
  })();
  done.catch(() => {}); // awaited through guarded() below
  stream.write(sizedRequest(OP_PUSH, bytes));
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, CHUNK_BYTES);
    left -= n;
    if (!stream.write(n === CHUNK_BYTES ? CHUNK : CHUNK.subarray(0, n))) await once(stream, 'drain');
  }
  const ms = await guarded(stream, 'push', done);
  stream.destroy();
  return ms;
}

/** Asks the target for `bytes` and reads them all. Returns milliseconds from the request to the last byte. */
export async function pull(stream: Duplex, bytes: number): Promise<number> {
  stream.on('error', () => {}); // surfaced through guarded()
  const t0 = performance.now();
  let got = 0;
  const received = new Promise<number>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got === bytes) resolve(performance.now() - t0);
      else if (got > bytes) reject(new Error(`pulled ${got} bytes, expected ${bytes}`));
    });
  });
  stream.write(sizedRequest(OP_GET, bytes));
  const ms = await guarded(stream, 'pull', received);
  stream.destroy();
  return ms;
}

/** An echo stream ready for round trips. */
export interface Echo {
  /** One round trip of `size` bytes; resolves with microseconds. */
  roundTrip(size: number): Promise<number>;
  close(): void;
}

/** Starts echo mode on `stream`. */
export function echo(stream: Duplex): Echo {
  let waiting: { left: number; t0: number; resolve: (us: number) => void } | undefined;
  stream.on('data', (chunk: Buffer) => {
    if (waiting === undefined) return;
    waiting.left -= chunk.length;
    if (waiting.left <= 0) {
      const w = waiting;
      waiting = undefined;
      w.resolve((performance.now() - w.t0) * 1000);
    }
  });
  stream.write(Buffer.from([OP_ECHO]));
  const payloads = new Map<number, Buffer>();
  return {
    roundTrip(size) {
      let payload = payloads.get(size);
      if (payload === undefined) payloads.set(size, (payload = Buffer.alloc(size, 0x61)));
      return new Promise((resolve, reject) => {
        waiting = { left: size, t0: performance.now(), resolve };
        stream.write(payload, (err) => err && reject(err));
      });
    },
    close: () => stream.destroy(),
  };
}

/** Writes to `stream` as fast as it takes until `stop()`; resolves the byte count once the sink confirmed it. */
export function saturate(stream: Duplex): { stop(): Promise<number>; sent(): number } {
  let stopped = false;
  let sent = 0;
  const done = (async () => {
    stream.write(sizedRequest(OP_PUSH, 0));
    while (!stopped) {
      sent += CHUNK_BYTES;
      if (!stream.write(CHUNK)) await once(stream, 'drain');
    }
    const replied = readExactly(stream, 8);
    stream.end();
    const count = Number((await replied).readBigUInt64BE(0));
    stream.destroy();
    if (count !== sent) throw new Error(`the sink counted ${count} bytes, expected ${sent}`);
    return count;
  })();
  done.catch(() => {}); // the caller awaits it through stop()
  return {
    stop() {
      stopped = true;
      return done;
    },
    sent: () => sent,
  };
}

/** Runs `tasks` with at most `limit` in flight; resolves with their results in order. */
export async function inBatches<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return out;
}
