import { isSpokeError, type SpokeErrorCode } from './errors.js';

/**
 * The HTTP status a proxy or front end answers for a failed dial, the same
 * everywhere (the CLI's proxies, the hub's CONNECT front end, the sample
 * control plane): 400 a malformed target, 403 a policy refusal, 504 a
 * timeout, 503 when no tunnel can take the request now (no route, limits, a
 * closed dialer), 502 for everything the far side did wrong, including a
 * tunnel that went away under the dial.
 */
export function httpStatusFor(err: unknown): number {
  switch (codeOf(err)) {
    case 'ERR_BAD_TARGET':
      return 400;
    case 'ERR_DIAL_DENIED':
      return 403;
    case 'ERR_DIAL_TIMEOUT':
    case 'ERR_HANDSHAKE_TIMEOUT':
      return 504;
    case 'ERR_NO_ROUTE':
    case 'ERR_TOO_MANY_STREAMS':
    case 'ERR_DIALER_CLOSED':
      return 503;
    default:
      return 502;
  }
}

/** Reason phrases of the statuses {@link httpStatusFor} answers. */
export const HTTP_STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A complete HTTP/1.1 error answer for a failed dial. */
export interface HttpErrorResponse {
  status: number;
  code: SpokeErrorCode;
  headers: Record<string, string>;
  body: string;
}

/**
 * The error answer for `err`: its status, an `X-Spoke-Error-Code` header
 * (spoke's HTTP CONNECT dialer turns it back into the same code, so codes
 * survive proxy hops) and a text body naming the code and what happened.
 * `who` prefixes the body (`"spoke proxy"`, `"spoke hub"`).
 */
export function httpErrorResponse(err: unknown, who: string, fallback: SpokeErrorCode = 'ERR_DIAL_FAILED'): HttpErrorResponse {
  const code = codeOf(err) ?? fallback;
  const message = err instanceof Error ? err.message : String(err);
  const body = `${who}: ${code}: ${message}\n`;
  return {
    status: httpStatusFor(err),
    code,
    body,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      'X-Spoke-Error-Code': code,
      Connection: 'close',
    },
  };
}

/** {@link httpErrorResponse} serialised for a raw socket (a refused CONNECT, an over-limit connection). */
export function rawHttpError(err: unknown, who: string, fallback?: SpokeErrorCode): string {
  const { status, headers, body } = httpErrorResponse(err, who, fallback);
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${HTTP_STATUS_TEXT[status] ?? 'Error'}\r\n${head}\r\n${body}`;
}

function codeOf(err: unknown): SpokeErrorCode | undefined {
  return isSpokeError(err) ? err.code : undefined;
}
