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
 * which one matched.
 */
export function tokenMatches(presented: string | undefined, accepted: readonly string[]): boolean {
  if (presented === undefined) return false;
  const p = createHash('sha256').update(presented).digest();
  let ok = false;
  for (const a of accepted) ok = timingSafeEqual(p, createHash('sha256').update(a).digest()) || ok;
  return ok;
}

/** The remote address of a request, for logs (never the credentials). */
export function peerOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
}
