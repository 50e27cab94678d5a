import type { Readable } from 'node:stream';
import { onAbort } from './abort.js';
import { SpokeError, abortError, asError } from './errors.js';

/** Options of {@link readExactly} and {@link readUntil}. */
export interface ReadHeadOptions {
  /** Stops the read: a SpokeError reason is passed on, a timeout becomes `ERR_HANDSHAKE_TIMEOUT`, anything else an AbortError. */
  signal?: AbortSignal;
  /** What is being read, for messages: `"the SOCKS5 greeting"`, `"the CONNECT response"`. Default `"the handshake"`. */
  what?: string;
}

/**
 * Reads exactly `n` bytes from a stream in paused mode (a handshake field),
 * leaving everything after them buffered in the stream for whoever reads next.
 * Rejects with `ERR_PROTOCOL` if the stream ends first.
 */
export function readExactly(stream: Readable, n: number, options: ReadHeadOptions = {}): Promise<Buffer> {
  if (n === 0) return Promise.resolve(Buffer.alloc(0));
  return readHead(stream, options, () => {
    const chunk = stream.read(n) as Buffer | null;
    if (chunk === null) return undefined;
    // Only at the end of the stream does read(n) hand back fewer bytes.
    if (chunk.length < n) {
      stream.unshift(chunk);
      throw closedMidway(options.what);
    }
    return chunk;
  });
}

/**
 * Reads up to and including the first `delimiter` (`"\r\n\r\n"` ends an HTTP
 * head), leaving the bytes after it buffered in the stream. At most
 * `maxBytes` are read while looking: a peer that sends more without the
 * delimiter gets `ERR_PROTOCOL` instead of growing our memory.
 */
export function readUntil(stream: Readable, delimiter: string | Buffer, options: ReadHeadOptions & { maxBytes: number }): Promise<Buffer> {
  const needle = typeof delimiter === 'string' ? Buffer.from(delimiter, 'latin1') : delimiter;
  const what = options.what ?? 'the handshake';
  let seen: Buffer = Buffer.alloc(0);
  return readHead(stream, options, () => {
    const chunk = stream.read() as Buffer | null;
    if (chunk === null) return undefined;
    // Search only where a match can start that was not searched before.
    const from = Math.max(0, seen.length - needle.length + 1);
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const at = seen.indexOf(needle, from);
    if (at === -1) {
      if (seen.length > options.maxBytes) {
        throw new SpokeError(
          'ERR_PROTOCOL',
          `The peer sent more than ${options.maxBytes} bytes without ending ${what}; refusing to buffer more.`,
        );
      }
      return undefined;
    }
    const end = at + needle.length;
    if (end > options.maxBytes) {
      throw new SpokeError('ERR_PROTOCOL', `${capitalise(what)} is longer than ${options.maxBytes} bytes; refusing to buffer more.`);
    }
    if (end < seen.length) stream.unshift(seen.subarray(end));
    return seen.subarray(0, end);
  });
}

/** How {@link readWith} reports a stream that ends, errors or is aborted before `attempt` is satisfied. */
export interface ReadFailures {
  closed(): Error;
  aborted(reason: unknown): Error;
  failed?(err: Error): Error;
}

/**
 * Drives `attempt` on every 'readable' (and once at the start, for what is
 * already buffered) until it returns a value, the stream ends or errors, or
 * `signal` aborts; `attempt` reads from the stream itself, in paused mode, so
 * whatever it leaves (or unshifts) stays for the next reader. A throw from
 * `attempt` rejects. The one read loop behind the head readers here and the
 * HTTP CONNECT client.
 */
export function readWith<T>(stream: Readable, attempt: () => T | undefined, failures: ReadFailures, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let detach = (): void => {};
    const cleanup = (): void => {
      stream.off('readable', step);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      detach();
    };
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    function onEnd(): void {
      fail(failures.closed());
    }
    function onError(err: Error): void {
      fail(failures.failed ? failures.failed(err) : err);
    }
    function step(): void {
      let value: T | undefined;
      try {
        value = attempt();
      } catch (err) {
        fail(asError(err));
        return;
      }
      if (value !== undefined) {
        cleanup();
        resolve(value);
      }
    }
    if (signal?.aborted) return fail(failures.aborted(signal.reason));
    if (stream.readableEnded || stream.destroyed) return onEnd();
    stream.on('readable', step);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    detach = onAbort(signal, (reason) => fail(failures.aborted(reason)));
    step();
  });
}

/** {@link readWith} with the head readers' failures: ERR_PROTOCOL when the peer leaves, ERR_HANDSHAKE_TIMEOUT at a deadline. */
function readHead(stream: Readable, options: ReadHeadOptions, attempt: () => Buffer | undefined): Promise<Buffer> {
  const what = options.what ?? 'the handshake';
  return readWith(stream, attempt, { closed: () => closedMidway(what), aborted: (reason) => abortToError(reason, what) }, options.signal);
}

function closedMidway(what = 'the handshake'): SpokeError {
  return new SpokeError('ERR_PROTOCOL', `The peer closed the connection in the middle of ${what}.`);
}

function abortToError(reason: unknown, what: string): Error {
  if (reason instanceof SpokeError) return reason;
  if (typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError') {
    return new SpokeError('ERR_HANDSHAKE_TIMEOUT', `The peer did not finish ${what} in time.`, { cause: reason });
  }
  return abortError(reason);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
