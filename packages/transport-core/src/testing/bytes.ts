import { createHash, randomBytes } from 'node:crypto';
import type { Duplex, Readable, Writable } from 'node:stream';

const CHUNK = 64 * 1024;
const seed = randomBytes(CHUNK);

/** Result of reading or writing a byte stream: how much, and its sha256. */
export interface Digest {
  bytes: number;
  sha256: string;
}

/**
 * Writes `total` bytes (distinct 64 KiB chunks: the chunk number is stamped in)
 * respecting backpressure, optionally ends the stream, and returns the digest
 * of what was written. `onProgress` sees the running byte count.
 */
export async function writeBytes(
  stream: Writable,
  total: number,
  opts: { end?: boolean; onProgress?: (written: number) => void } = {},
): Promise<Digest> {
  const hash = createHash('sha256');
  let written = 0;
  let n = 0;
  while (written < total) {
    const size = Math.min(CHUNK, total - written);
    const chunk = Buffer.from(seed.subarray(0, size));
    chunk.writeUInt32BE(n++ >>> 0, 0);
    hash.update(chunk);
    written += size;
    const ok = stream.write(chunk);
    opts.onProgress?.(written);
    if (!ok) await waitDrain(stream);
  }
  if (opts.end ?? true) stream.end();
  return { bytes: written, sha256: hash.digest('hex') };
}

function waitDrain(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('error', done);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('stream closed while waiting for drain'));
    stream.on('drain', onDrain);
    stream.on('error', done);
    stream.on('close', onClose);
  });
}

/** Reads a stream to its end and returns the digest. Rejects on error or close without end. */
export function readDigest(stream: Readable): Promise<Digest> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    stream.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error(`stream closed before its end after ${bytes} bytes`)));
  });
}

/** Reads everything until end and returns it as one Buffer. */
export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.resume();
    stream.once('end', () => resolve(Buffer.concat(parts)));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('stream closed before its end')));
  });
}

/** Echoes a stream back to itself, half-closing after the peer does. */
export function echo(stream: Duplex): void {
  stream.on('error', () => {});
  stream.pipe(stream);
}

/** Resolves when the stream emits 'close'; the error it saw (if any) is returned. */
export function closed(stream: Duplex): Promise<Error | undefined> {
  return new Promise((resolve) => {
    if (stream.destroyed && stream.closed) {
      // Node marks the stream closed before it emits 'error' on the next tick: swallow that emit.
      stream.on('error', () => {});
      resolve(stream.errored ?? undefined);
      return;
    }
    let seen: Error | undefined;
    stream.on('error', (e) => {
      seen = e;
    });
    stream.once('close', () => resolve(seen ?? stream.errored ?? undefined));
  });
}

/**
 * Polls `condition` until it holds, or fails with `what` after `timeoutMs`.
 * For conditions with no event to wait on (resource counts, stalls).
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Options of {@link waitForStall}. */
export interface StallOptions {
  /** How many polls in a row (10 ms apart) `progress` must not move. */
  quietPolls: number;
  /** Ends the wait early (e.g. the writer finished: nothing held it back). */
  done?: () => boolean;
  timeoutMs?: number;
}

/**
 * Waits until a writer held back by back-pressure stops moving: `progress` (bytes written so far)
 * unchanged for `quietPolls` polls, or `done` holds. Fails with `what` after `timeoutMs` (30 s).
 */
export async function waitForStall(progress: () => number, what: string, options: StallOptions): Promise<void> {
  let last = -1;
  let still = 0;
  await waitFor(
    () => {
      const now = progress();
      still = now === last ? still + 1 : 0;
      last = now;
      return still >= options.quietPolls || (options.done?.() ?? false);
    },
    what,
    options.timeoutMs ?? 30_000,
  );
}
