import { isSpokeError, type SpokeErrorCode } from '@spoke/transport-core';

/** SOCKS5 reply codes (RFC 1928 §6). */
export const SOCKS5_REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

/** The SOCKS5 reply for a failed dial: the closest RFC 1928 meaning of its SpokeError code. */
export function socksReplyFor(err: unknown): number {
  switch (codeOf(err)) {
    case 'ERR_DIAL_REFUSED':
      return SOCKS5_REPLY.connectionRefused;
    case 'ERR_DIAL_UNREACHABLE':
    case 'ERR_BAD_TARGET':
      return SOCKS5_REPLY.hostUnreachable;
    case 'ERR_NO_ROUTE':
      return SOCKS5_REPLY.networkUnreachable;
    case 'ERR_DIAL_DENIED':
      return SOCKS5_REPLY.notAllowed;
    case 'ERR_DIAL_TIMEOUT':
    case 'ERR_HANDSHAKE_TIMEOUT':
      return SOCKS5_REPLY.ttlExpired;
    default:
      return SOCKS5_REPLY.generalFailure;
  }
}

/** The HTTP status a proxy answers for a failed dial. */
export function httpStatusFor(err: unknown): number {
  switch (codeOf(err)) {
    case 'ERR_DIAL_DENIED':
      return 403;
    case 'ERR_BAD_TARGET':
      return 400;
    case 'ERR_DIAL_TIMEOUT':
    case 'ERR_HANDSHAKE_TIMEOUT':
      return 504;
    case 'ERR_NO_ROUTE':
    case 'ERR_TOO_MANY_STREAMS':
    case 'ERR_TUNNEL_CLOSED':
    case 'ERR_DIALER_CLOSED':
      return 503;
    default:
      return 502;
  }
}

/**
 * A complete HTTP/1.1 error response: the status for the error, an
 * `X-Spoke-Error-Code` header (which spoke's HTTP CONNECT dialer turns back
 * into the same code, so codes survive proxy hops) and a text body naming
 * the code and what happened.
 */
export function httpErrorResponse(
  err: unknown,
  fallback: SpokeErrorCode = 'ERR_DIAL_FAILED',
): { status: number; code: SpokeErrorCode; headers: Record<string, string>; body: string } {
  const code = codeOf(err) ?? fallback;
  const status = httpStatusFor(err);
  const message = err instanceof Error ? err.message : String(err);
  const body = `spoke proxy: ${code}: ${message}\n`;
  return {
    status,
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

/** The same response serialised for a raw socket (CONNECT, over-limit connections). */
export function rawHttpError(err: unknown, fallback?: SpokeErrorCode): string {
  const { status, headers, body } = httpErrorResponse(err, fallback);
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n${head}\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function codeOf(err: unknown): SpokeErrorCode | undefined {
  return isSpokeError(err) ? err.code : undefined;
}
