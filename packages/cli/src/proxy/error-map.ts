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

function codeOf(err: unknown): SpokeErrorCode | undefined {
  return isSpokeError(err) ? err.code : undefined;
}
