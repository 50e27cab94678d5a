import type { Duplex } from 'node:stream';
import { SpokeError } from '@spoke/transport-core';
import { dialError } from './errors.js';

const MAX_HEAD = 16 * 1024;
const MAX_BODY = 16 * 1024;
/** How much early destination data we accept before the success head (see below). */
const MAX_EARLY = 8 * 1024 * 1024;
const SUCCESS_HEAD = Buffer.from('HTTP/1.1 200 Connection Established\r\n\r\n');

/**
 * Runs the HTTP-CONNECT handshake of a Konnectivity server in http-connect
 * mode on an open socket and resolves with the same socket, now relaying to
 * `address`. Error replies (4xx/5xx with a text body, then close) become coded
 * SpokeErrors; the socket is destroyed on failure or abort.
 */
export function httpConnect(socket: Duplex, address: string, where: string, signal: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let status: number | undefined;
    let bodyStart = 0;
    const cleanup = (): void => {
      socket.removeListener('readable', onReadable);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
      socket.removeListener('close', onEnd);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new SpokeError('ERR_DIAL_TIMEOUT', 'aborted', { target: address }));
    const onError = (err: Error): void => fail(SpokeError.from(err, { target: address, hop: 'konnectivity' }));
    const onEnd = (): void => {
      if (status === undefined) {
        fail(
          new SpokeError(
            'ERR_PROTOCOL',
            `${where} closed the connection before answering CONNECT ${address}. Check that it is a Konnectivity server in http-connect mode.`,
            { target: address, hop: 'konnectivity' },
          ),
        );
      } else {
        fail(failure(status, buf.subarray(bodyStart).toString('utf8').trim()));
      }
    };
    const failure = (code: number, body: string): SpokeError => {
      if (code === 405 || code === 400) {
        return new SpokeError('ERR_PROXY_STATUS', `${where} answered HTTP ${code} to CONNECT ${address}: ${body}.`, {
          target: address,
          hop: 'konnectivity',
        });
      }
      return dialError(body === '' ? `HTTP ${code}` : body, address, code);
    };
    // 'readable' + read(), not 'data': removing the last 'readable' listener puts
    // the socket back in its initial (not flowing, not paused) mode, so the
    // caller's first 'data' listener or pipe() starts the flow and loses nothing.
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (status !== 200 && (chunk = socket.read() as Buffer | null) !== null) onData(chunk);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (status !== undefined) {
        // Collecting an error body until the server closes (it always does).
        if (buf.length - bodyStart > MAX_BODY) fail(failure(status, buf.subarray(bodyStart, bodyStart + MAX_BODY).toString('utf8')));
        return;
      }
      if (buf.length >= 5 && !buf.subarray(0, 5).equals(Buffer.from('HTTP/'))) {
        // Upstream's proxy-server writes destination bytes from its agent loop
        // and the "200" head from the connection's goroutine, so a destination
        // that speaks first can get bytes in ahead of the head. Put them back
        // in order: everything around the exact success head is data.
        const at = buf.indexOf(SUCCESS_HEAD);
        if (at < 0) {
          if (buf.length > MAX_EARLY)
            fail(
              new SpokeError('ERR_PROTOCOL', `${where} sent ${buf.length} bytes without an HTTP reply to CONNECT ${address}.`, {
                target: address,
                hop: 'konnectivity',
              }),
            );
          return;
        }
        status = 200;
        cleanup();
        socket.unshift(Buffer.concat([buf.subarray(0, at), buf.subarray(at + SUCCESS_HEAD.length)]));
        resolve(socket);
        return;
      }
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_HEAD)
          fail(new SpokeError('ERR_PROTOCOL', `${where} sent an oversized reply to CONNECT.`, { target: address, hop: 'konnectivity' }));
        return;
      }
      const statusLine = buf.subarray(0, buf.indexOf('\r\n')).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
      if (!m) {
        fail(
          new SpokeError('ERR_PROTOCOL', `${where} answered CONNECT with ${JSON.stringify(statusLine.slice(0, 80))}, not HTTP/1.1.`, {
            target: address,
            hop: 'konnectivity',
          }),
        );
        return;
      }
      status = Number(m[1]);
      bodyStart = end + 4;
      if (status === 200) {
        cleanup();
        const rest = buf.subarray(bodyStart);
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.write(`CONNECT ${address} HTTP/1.1\r\nHost: ${address}\r\nUser-Agent: spoke-konnectivity\r\n\r\n`);
  });
}
