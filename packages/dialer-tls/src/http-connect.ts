import type { Duplex } from 'node:stream';
import { SpokeError, abortReasonToError, formatTarget, type TcpTarget } from '@spoke/transport-core';
import { ProxyStatusError, badOption, proxyFailureCode } from './errors.js';

/** Largest CONNECT response head we accept (status line plus headers). */
export const MAX_RESPONSE_HEAD = 16 * 1024;
/** Largest part of a failure answer's body we read and quote. */
export const MAX_ERROR_BODY = 4 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Checks extra CONNECT headers: names must be HTTP tokens, values single-line. */
export function checkHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw badOption(`The header name ${JSON.stringify(name)} is not a valid HTTP header name.`);
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      // The value may be a credential: name the header only.
      throw badOption(`The value of header ${name} must be a single-line string.`);
    }
    if (name.toLowerCase() === 'host')
      throw badOption('The Host header of a CONNECT request is set from the target; remove it from headers.');
  }
}

/** The CONNECT request head for `target`. */
export function connectRequest(target: TcpTarget, headers: Readonly<Record<string, string>>): string {
  const authority = formatTarget(target);
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

interface Where {
  target: TcpTarget;
  /** The proxy, for messages: `"proxy:3128"` or `"unix:/run/proxy.sock"`. */
  proxy: string;
  hop: string;
}

/**
 * Asks the proxy on `stream` to open a tunnel to `where.target` and waits for
 * its answer. On a 2xx answer the same stream is returned, with any bytes the
 * proxy sent after its response head pushed back in front (nothing is lost).
 * Any other answer destroys the stream and rejects with a
 * {@link ProxyStatusError}; a malformed or oversized head with `ERR_PROTOCOL`.
 */
export async function httpConnect(
  stream: Duplex,
  where: Where,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<Duplex> {
  try {
    stream.write(connectRequest(where.target, headers));
    const { head, rest } = await readUntil(stream, signal, where, (buf) => {
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0 && end + 4 <= MAX_RESPONSE_HEAD) return end + 4;
      if (end >= 0 || buf.length > MAX_RESPONSE_HEAD) {
        throw protocolError(where, `its response head is larger than ${MAX_RESPONSE_HEAD} bytes`);
      }
      return -1;
    });
    const answer = parseHead(head, where);
    if (answer.status >= 200 && answer.status < 300) {
      if (rest.length > 0) stream.unshift(rest);
      return stream;
    }
    const body = await readBody(stream, rest, answer.headers, signal, where);
    throw failure(answer, body, where);
  } catch (err) {
    stream.destroy();
    throw err;
  }
}

interface Head {
  status: number;
  statusText: string;
  headers: Map<string, string>;
}

function parseHead(raw: Buffer, where: Where): Head {
  const lines = raw
    .subarray(0, raw.length - 4)
    .toString('latin1')
    .split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!match)
    throw protocolError(
      where,
      `it answered ${JSON.stringify(printable((lines[0] ?? '').slice(0, 80)))} instead of an HTTP/1.x status line`,
    );
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw protocolError(where, `it sent a malformed header line ${JSON.stringify(printable(line.slice(0, 80)))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), statusText: match[2] ?? '', headers };
}

async function readBody(stream: Duplex, rest: Buffer, headers: Map<string, string>, signal: AbortSignal, where: Where): Promise<string> {
  const declared = Number(headers.get('content-length'));
  let body = rest;
  // Without a Content-Length we quote what already arrived rather than wait for a close that may never come.
  if (Number.isInteger(declared) && declared > rest.length) {
    const want = Math.min(declared, MAX_ERROR_BODY);
    if (rest.length < want) {
      const got = await readUntil(stream, signal, where, (buf) => (buf.length >= want ? want : -1), rest, true).catch(() => undefined);
      if (got) body = got.head;
    }
  }
  return printable(body.subarray(0, MAX_ERROR_BODY).toString('utf8')).trim();
}

function failure(answer: Head, body: string, where: Where): ProxyStatusError {
  const code = proxyFailureCode(answer.headers);
  const said = `${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}`;
  const quoted = body ? `: ${JSON.stringify(body.length > 300 ? `${body.slice(0, 300)}…` : body)}` : '';
  const next =
    answer.status === 407
      ? 'The proxy wants credentials: set a Proxy-Authorization header (headers option, or proxy-authorization-file= in the URI).'
      : code === 'ERR_PROXY_STATUS'
        ? 'Check that the proxy may reach the target (its allow list, the target being up), or ask the proxy operator.'
        : 'Check that the target is up and reachable from the proxy.';
  return new ProxyStatusError(
    code,
    `The proxy ${where.proxy} refused CONNECT ${formatTarget(where.target)} with ${said}${quoted}. ${next}`,
    { status: answer.status, statusText: answer.statusText, body },
    { target: where.target, hop: where.hop },
  );
}

/**
 * Pulls bytes from `stream` until `complete(buffer)` returns the length of the
 * wanted prefix; returns that prefix and whatever came after it.
 */
function readUntil(
  stream: Duplex,
  signal: AbortSignal,
  where: Where,
  complete: (buffered: Buffer) => number,
  initial: Buffer = Buffer.alloc(0),
  endIsFine = false,
): Promise<{ head: Buffer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = initial;
    const cleanup = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = stream.read() as Buffer | null) !== null) {
        buffered = Buffer.concat([buffered, chunk]);
        let at: number;
        try {
          at = complete(buffered);
        } catch (err) {
          fail(err as Error);
          return;
        }
        if (at >= 0) {
          cleanup();
          resolve({ head: buffered.subarray(0, at), rest: buffered.subarray(at) });
          return;
        }
      }
    };
    const onEnd = (): void => {
      if (endIsFine) {
        cleanup();
        resolve({ head: buffered, rest: Buffer.alloc(0) });
      } else fail(protocolError(where, 'it closed the connection before answering the CONNECT request'));
    };
    const onClose = (): void => onEnd();
    const onError = (err: Error): void => fail(SpokeError.from(err, { target: where.target, hop: where.hop }));
    const onAbort = (): void => fail(abortReasonToError(signal.reason, { target: where.target, hop: where.hop }));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

function protocolError(where: Where, why: string): SpokeError {
  return new SpokeError(
    'ERR_PROTOCOL',
    `The proxy ${where.proxy} does not speak HTTP CONNECT as expected: ${why}. Check that the proxy address points at an HTTP proxy (and whether it needs TLS).`,
    {
      target: where.target,
      hop: where.hop,
    },
  );
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
}
