import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';

/**
 * Just enough RFC 6455 for attackers and a fake hub written by hand: binary frames (masked from a
 * client, plain from a server), the client upgrade and the server's 101. No fragmentation, no
 * extensions: spoke's peers send one spoke/1 frame per binary message and never compress.
 */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One binary message as a WebSocket frame; `masked` for a client (the mask key is random, as RFC 6455 requires). */
export function wsFrame(payload: Buffer, masked: boolean): Buffer {
  const n = payload.length;
  const lengthBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lengthBytes + (masked ? 4 : 0));
  head[0] = 0x82; // FIN, binary
  head[1] = (masked ? 0x80 : 0) | (lengthBytes === 0 ? n : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) head.writeUInt16BE(n, 2);
  if (lengthBytes === 8) head.writeBigUInt64BE(BigInt(n), 2);
  if (!masked) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + lengthBytes);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (key[i & 3] ?? 0);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into WebSocket messages: binary payloads (unmasked), and `close` when a close frame comes. */
export class WsReader {
  #buffer = Buffer.alloc(0);
  closed = false;

  /** Adds bytes; returns the binary payloads now complete. */
  push(chunk: Buffer): Buffer[] {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return out;
      const masked = ((b[1] ?? 0) & 0x80) !== 0;
      let n = (b[1] ?? 0) & 0x7f;
      let at = 2;
      if (n === 126) {
        if (b.length < 4) return out;
        n = b.readUInt16BE(2);
        at = 4;
      } else if (n === 127) {
        if (b.length < 10) return out;
        n = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      const key = masked ? b.subarray(at, at + 4) : undefined;
      if (key) at += 4;
      if (b.length < at + n) return out;
      const payload = Buffer.from(b.subarray(at, at + n));
      if (key) for (let i = 0; i < n; i++) payload[i] = (payload[i] ?? 0) ^ (key[i & 3] ?? 0);
      this.#buffer = b.subarray(at + n);
      const opcode = (b[0] ?? 0) & 0x0f;
      if (opcode === 0x2) out.push(payload);
      else if (opcode === 0x8) this.closed = true;
    }
  }
}

/** The Sec-WebSocket-Accept for a client's key. */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/**
 * Reads from `socket` up to the end of an HTTP head and resolves with it; bytes after the head are put
 * back (unshift) and the socket is left paused for whoever reads on.
 */
export function readHead(socket: tls.TLSSocket, boundMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no HTTP head in ${boundMs} ms`)), boundMs);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      finish(undefined, got.subarray(0, end).toString('latin1'));
      if (got.length > end + 4) socket.unshift(got.subarray(end + 4));
    };
    const onClose = (): void => finish(new Error('closed before an HTTP head'));
    const finish = (err?: Error, head?: string): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(head ?? '');
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/**
 * Opens a TLS connection to `address` (any certificate: an attacker verifies nothing) and upgrades
 * `path` with `Authorization: Bearer token`. Resolves with the socket once the 101 has come; rejects
 * with the status line otherwise.
 */
export async function rawWebSocket(address: string, path: string, token: string): Promise<tls.TLSSocket> {
  const [host = '', port = ''] = address.split(/:(?=\d+$)/);
  const socket = tls.connect({ host, port: Number(port), rejectUnauthorized: false });
  socket.on('error', () => {});
  await once(socket, 'secureConnect');
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: ${address}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Authorization: Bearer ${token}`,
      '',
      '',
    ].join('\r\n'),
  );
  const head = await readHead(socket);
  if (!head.startsWith('HTTP/1.1 101')) {
    socket.destroy();
    throw new Error(`upgrade refused: ${head.split('\r\n')[0] ?? ''}`);
  }
  return socket;
}
