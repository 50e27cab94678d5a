import type { Duplex } from 'node:stream';
import { SpokeError, formatTarget, type TcpTarget } from '@spoke/transport-core';
import {
  MAX_CONNECT_BODY_BYTES,
  MAX_CONNECT_HEAD_BYTES,
  httpConnectClient,
  connectRequestHead,
  type ConnectResponse,
} from '@spoke/transport-core/utils';
import { ProxyStatusError, badOption, proxyFailureCode } from './errors.js';

/** Largest CONNECT response head we accept (status line plus headers). */
export const MAX_RESPONSE_HEAD = MAX_CONNECT_HEAD_BYTES;
/** Largest part of a failure answer's body we read and quote. */
export const MAX_ERROR_BODY = MAX_CONNECT_BODY_BYTES;

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
  return connectRequestHead(formatTarget(target), headers);
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
  const result = await httpConnectClient(stream, {
    authority: formatTarget(where.target),
    headers,
    signal,
    dial: { target: where.target, hop: where.hop },
    protocolError: (why) => protocolError(where, why),
    maxHeadBytes: MAX_RESPONSE_HEAD,
    maxBodyBytes: MAX_ERROR_BODY,
  });
  if (result.ok) return result.stream;
  throw failure(result.response, printable(result.body).trim(), where);
}

function failure(answer: ConnectResponse, body: string, where: Where): ProxyStatusError {
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

function protocolError(where: Where, why: string): SpokeError {
  return new SpokeError(
    'ERR_PROTOCOL',
    `The proxy ${where.proxy} does not speak HTTP CONNECT as expected: ${why}. Check that the proxy address points at an HTTP proxy (and whether it needs TLS).`,
    { target: where.target, hop: where.hop },
  );
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');
}
