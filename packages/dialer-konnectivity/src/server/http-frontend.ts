import type { Duplex } from 'node:stream';
import { randomInt63 } from '../packets.js';
import type { DialRouter, Frontend, PendingFailure } from './tunnel-core.js';

const MAX_HEAD = 16 * 1024;

/** Upstream's status for an agent dial error, from the error text. */
export function statusForDialError(text: string): string {
  const t = text.toLowerCase();
  if (t.includes('timeout') || t.includes('deadline')) return '504 Gateway Timeout';
  if (t.includes('too many open files')) return '503 Service Unavailable';
  return '502 Bad Gateway';
}

function reply(socket: Duplex, status: string, body: string, type = 'text/plain; charset=utf-8'): void {
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body) + 1}\r\nConnection: close\r\n\r\n${body}\n`,
  );
}

/**
 * Serves one HTTP-CONNECT front-end socket with upstream's replies. Unlike
 * upstream, the "200 Connection Established" head is always written before any
 * destination byte. `onRequest` is called when the request head has arrived.
 */
export function serveHttpFrontend(socket: Duplex, core: DialRouter, onDone: () => void, onRequest: () => void = () => {}): void {
  let head = Buffer.alloc(0);
  let established = false;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    core.detach(fe);
    onDone();
  };
  const fe: Frontend = {
    dialed(_id, error) {
      if (error !== '') {
        reply(socket, statusForDialError(error), error);
        finish();
        return;
      }
      established = true;
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      socket.on('data', (b: Buffer) => core.data(fe, b));
      socket.resume();
    },
    data(bytes) {
      if (!socket.destroyed) socket.write(bytes);
    },
    remoteClosed() {
      socket.end();
      finish();
    },
    failed(reason: PendingFailure, text: string) {
      if (reason === 'no_agent') reply(socket, '500 Internal Server Error', `currently no tunnels available: ${text}`, 'text/plain');
      else if (reason === 'backend_dial_timeout') reply(socket, '504 Gateway Timeout', `Backend dial timeout: ${text}`);
      else reply(socket, '502 Bad Gateway', `Backend context error: ${text}`);
      finish();
    },
    queued: () => socket.writableLength,
    whenQueueBelow(bytes, callback) {
      if (socket.writableLength <= bytes || socket.destroyed) {
        callback();
        return;
      }
      // 'drain' comes when the buffer is empty; 'close' when it never will be.
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        callback();
      };
      socket.on('drain', done);
      socket.on('close', done);
    },
    stalled() {
      socket.destroy();
      finish();
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
  const onHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD) socket.destroy();
      return;
    }
    socket.removeListener('data', onHead);
    socket.pause();
    onRequest();
    const rest = head.subarray(end + 4);
    if (rest.length > 0) socket.unshift(rest);
    const [method, target] = head.subarray(0, head.indexOf('\r\n')).toString('latin1').split(' ');
    if (method !== 'CONNECT' || !target) {
      reply(socket, '405 Method Not Allowed', 'this proxy only supports CONNECT passthrough');
      finish();
      return;
    }
    core.dial(fe, target, randomInt63());
  };
  socket.on('data', onHead);
  socket.on('error', () => {});
  socket.on('end', () => {
    // The client's FIN closes the connection at the agent; the agent's
    // CLOSE_RSP then ends this socket (remoteClosed), so destination bytes
    // sent before it still arrive, and the client sees its end only after the
    // destination did (as upstream's server does).
    core.close(fe);
    if (!established) socket.end();
  });
  socket.on('close', finish);
}
