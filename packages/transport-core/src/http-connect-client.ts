import type { Duplex } from 'node:stream';
import { abortReasonToError, type DialInfo } from './dial-scope.js';
import { SpokeError } from './errors.js';
import { readWith } from './read-until.js';

/**
 * The client side of HTTP CONNECT (RFC 9110 §9.3.6), shared by every dialer
 * that asks a proxy for a tunnel: write the request, read the answer's head,
 * hand back the stream (with any bytes that came after the head) or the
 * refusal. Wording and codes of a refusal are the caller's; this file only
 * reads what the proxy said.
 */

/** Largest response head read by default (status line plus headers). */
export const MAX_CONNECT_HEAD_BYTES = 16 * 1024;
/** Largest part of a refusal's body read by default. */
export const MAX_CONNECT_BODY_BYTES = 4 * 1024;

const HEAD_END = '\r\n\r\n';

/** A proxy's answer to CONNECT. */
export interface ConnectResponse {
  status: number;
  /** The reason phrase (may be empty). */
  statusText: string;
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Map<string, string>;
}

/** A parsed head, or why it is not an HTTP/1.x answer (a sentence fragment for an error message). */
export type ParsedConnectHead = { ok: true; response: ConnectResponse } | { ok: false; why: string };

/** The request head of `CONNECT authority HTTP/1.1` with a Host header and `headers` in order. Values are the caller's to check. */
export function connectRequestHead(authority: string, headers: Readonly<Record<string, string>> = {}): string {
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

/** Parses a response head: the status line, then `Name: value` lines (the closing blank line may be included). */
export function parseConnectResponseHead(head: Buffer | string): ParsedConnectHead {
  let text = typeof head === 'string' ? head : head.toString('latin1');
  if (text.endsWith(HEAD_END)) text = text.slice(0, -HEAD_END.length);
  const lines = text.split('\r\n');
  const statusLine = lines[0] ?? '';
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!match) return { ok: false, why: `it answered ${quote(statusLine)} instead of an HTTP/1.x status line` };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, why: `it sent a malformed header line ${quote(line)}` };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { ok: true, response: { status: Number(match[1]), statusText: match[2] ?? '', headers } };
}

/** Options of {@link httpConnectClient}. */
export interface HttpConnectClientOptions {
  /** `host:port` for the request line and Host header (an IPv6 host in brackets). */
  authority: string;
  /** Extra request headers, in order. */
  headers?: Readonly<Record<string, string>>;
  signal: AbortSignal;
  /** Target and hop that errors of the stream or the signal name. */
  dial: DialInfo;
  /** The error for an answer that is not HTTP CONNECT; `why` says what was wrong. */
  protocolError: (why: string) => Error;
  /** Default {@link MAX_CONNECT_HEAD_BYTES}. */
  maxHeadBytes?: number;
  /** Default {@link MAX_CONNECT_BODY_BYTES}. */
  maxBodyBytes?: number;
  /**
   * Read a refusal's body until the proxy closes when it declares no
   * Content-Length (a proxy that always closes after refusing). Default: quote
   * only what arrived with the head, as such a close may never come.
   */
  bodyUntilClose?: boolean;
  /**
   * A proxy whose tunnel may deliver destination bytes before its success head
   * (up to `maxBytes` of them): when the answer does not start with `HTTP/`,
   * the exact `head` is looked for and the bytes around it are tunnel data.
   */
  earlyData?: { head: string; maxBytes: number };
}

/** The tunnel (the same stream, bytes after the head pushed back), or the refusal (the stream is destroyed). */
export type HttpConnectResult =
  | { ok: true; stream: Duplex; response: ConnectResponse }
  | { ok: false; response: ConnectResponse; /** The start of the body, UTF-8. */ body: string };

/**
 * Asks the proxy on `stream` for a tunnel and reads its answer. A 2xx answer
 * resolves with the stream; another answer with the refusal and its body.
 * An answer that is not HTTP, too large, or a close before it rejects with
 * `protocolError`; the stream's errors and the signal reject as dial errors.
 * The stream is destroyed whenever no tunnel is handed back.
 */
export async function httpConnectClient(stream: Duplex, options: HttpConnectClientOptions): Promise<HttpConnectResult> {
  try {
    stream.write(connectRequestHead(options.authority, options.headers));
    const { response, rest } = await readAnswer(stream, options);
    if (response.status >= 200 && response.status < 300) {
      if (rest.length > 0) stream.unshift(rest);
      return { ok: true, stream, response };
    }
    const body = await readBody(stream, rest, response, options);
    stream.destroy();
    return { ok: false, response, body: body.toString('utf8') };
  } catch (err) {
    stream.destroy();
    throw err;
  }
}

async function readAnswer(stream: Duplex, options: HttpConnectClientOptions): Promise<{ response: ConnectResponse; rest: Buffer }> {
  const max = options.maxHeadBytes ?? MAX_CONNECT_HEAD_BYTES;
  const early = options.earlyData;
  let answer: { response: ConnectResponse; rest: Buffer } | undefined;
  await pull(stream, options, Buffer.alloc(0), (buf) => {
    if (early !== undefined && buf.length >= 5 && buf.subarray(0, 5).toString('latin1') !== 'HTTP/') {
      const at = buf.indexOf(early.head, 0, 'latin1');
      if (at < 0) {
        if (buf.length > early.maxBytes) throw options.protocolError(`it sent ${buf.length} bytes without an HTTP answer`);
        return false;
      }
      answer = { response: parsed(early.head, options), rest: Buffer.concat([buf.subarray(0, at), buf.subarray(at + early.head.length)]) };
      return true;
    }
    const end = buf.indexOf(HEAD_END, 0, 'latin1');
    if ((end >= 0 && end + HEAD_END.length > max) || (end < 0 && buf.length > max))
      throw options.protocolError(`its response head is larger than ${max} bytes`);
    if (end < 0) return false;
    answer = { response: parsed(buf.subarray(0, end + HEAD_END.length), options), rest: buf.subarray(end + HEAD_END.length) };
    return true;
  });
  return answer as { response: ConnectResponse; rest: Buffer };
}

function parsed(head: Buffer | string, options: HttpConnectClientOptions): ConnectResponse {
  const p = parseConnectResponseHead(head);
  if (!p.ok) throw options.protocolError(p.why);
  return p.response;
}

/** The refusal's body: up to Content-Length, or to the close when asked, never more than maxBodyBytes. */
async function readBody(stream: Duplex, rest: Buffer, response: ConnectResponse, options: HttpConnectClientOptions): Promise<Buffer> {
  const max = options.maxBodyBytes ?? MAX_CONNECT_BODY_BYTES;
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  const want = Number.isInteger(declared) && declared >= 0 ? Math.min(declared, max) : options.bodyUntilClose ? max : 0;
  let body = rest;
  if (body.length < want) {
    // What arrived is enough to quote when the rest does not come (a reset, the signal).
    await pull(stream, options, rest, (buf) => {
      body = buf;
      return buf.length >= want;
    }).catch(() => undefined);
  }
  return body.subarray(0, max);
}

/**
 * Feeds `initial` plus what `stream` delivers to `done` until it returns true.
 * A close first rejects with `protocolError`, an error or the signal as a dial error.
 */
async function pull(
  stream: Duplex,
  options: HttpConnectClientOptions,
  initial: Buffer,
  done: (buffered: Buffer) => boolean,
): Promise<void> {
  let buffered = initial;
  // read() in paused mode, not 'data': once readWith's listener is gone the stream is back in its
  // initial mode, so the caller's first 'data' listener or pipe() loses nothing.
  await readWith(
    stream,
    () => {
      let chunk: Buffer | null;
      while ((chunk = stream.read() as Buffer | null) !== null) {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        if (done(buffered)) return true;
      }
      return undefined;
    },
    {
      closed: () => options.protocolError('it closed the connection before answering the CONNECT request'),
      aborted: (reason) => abortReasonToError(reason, options.dial),
      failed: (err) => SpokeError.from(err, options.dial),
    },
    options.signal,
  );
}

function quote(text: string): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(text.slice(0, 80).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?'));
}
