import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The bearer token of an `Authorization` (or `Proxy-Authorization`) header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

/**
 * Compares a presented token with every accepted one in constant time (digests
 * of equal length, and no early exit), so timing reveals neither the token nor
 * which one matched. Returns the index of the match, or -1.
 */
export function tokenIndex(presented: string | undefined, accepted: readonly string[]): number {
  if (presented === undefined) return -1;
  const p = createHash('sha256').update(presented).digest();
  let found = -1;
  accepted.forEach((a, i) => {
    const equal = timingSafeEqual(p, createHash('sha256').update(a).digest());
    found = equal && found < 0 ? i : found;
  });
  return found;
}

/** Whether a presented token is one of the accepted ones (see {@link tokenIndex}). */
export function tokenMatches(presented: string | undefined, accepted: readonly string[]): boolean {
  return tokenIndex(presented, accepted) >= 0;
}

/** The remote address of a request, for logs (never the credentials). */
export function peerOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
}
