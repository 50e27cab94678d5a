import http from 'node:http';
import type { Duplex } from 'node:stream';

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rawError(socket: Duplex, status: number, message: string, headers: Record<string, string | string[]> = {}): void {
  const body = `${message}\n`;
  const extra = Object.entries(headers)
    .flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${name}: ${v}\r\n`))
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: text/plain\r\n${extra}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The httpstream handshake of a SPDY/3.1 upgrade: the client lists protocols
 * in `X-Stream-Protocol-Version` (repeated or comma-separated, its order
 * wins); we answer 101 with the chosen one, or 400 without the header, or 403
 * listing ours in `X-Accepted-Stream-Protocol-Versions`, as the kubelet does.
 * Returns the chosen protocol, or undefined when the request was answered.
 */
export function acceptSpdyUpgrade(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  supported: readonly string[],
): string | undefined {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (offered.length === 0) {
    rawError(socket, 400, 'unable to upgrade: X-Stream-Protocol-Version is required');
    return undefined;
  }
  const chosen = offered.find((p) => supported.includes(p));
  if (!chosen) {
    rawError(
      socket,
      403,
      `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]`,
      { 'X-Accepted-Stream-Protocol-Versions': [...supported] },
    );
    return undefined;
  }
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${chosen}\r\n\r\n`,
  );
  if (head.length > 0) socket.unshift(head);
  return chosen;
}
