import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError } from '@spoke/transport-core';
import { closed } from '@spoke/transport-core/testing';
import { readUntil } from '@spoke/transport-core/utils';
import { ConnectStream } from '../src/connect-stream.js';
import { httpConnect } from '../src/http-connect.js';

// The client half of Konnectivity's HTTP-CONNECT mode against a real TCP server that plays the
// proxy-server's part: what it writes is what upstream's proxy-server writes (or a broken one).

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server whose connections get `answer(request, socket)` once the request head arrived. */
async function proxyServer(answer: (request: string, socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    readUntil(socket, '\r\n\r\n', { maxBytes: 4096 }).then(
      (head) => answer(head.toString('latin1'), socket),
      () => socket.destroy(),
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

function readAll(socket: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}

async function failure(port: number): Promise<SpokeError> {
  const socket = await connect(port);
  const err = await httpConnect(socket, '10.0.0.1:80', 'the test server', AbortSignal.timeout(10_000)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(socket.destroyed).toBe(true);
  expect(err).toBeInstanceOf(SpokeError);
  return err as SpokeError;
}

describe('Konnectivity HTTP-CONNECT client', () => {
  it('sends CONNECT host:port HTTP/1.1 with Host and User-Agent, and relays after the 200 head', async () => {
    let request = '';
    const port = await proxyServer((head, socket) => {
      request = head;
      socket.end('HTTP/1.1 200 Connection Established\r\n\r\nbanner');
    });
    const socket = await httpConnect(await connect(port), '10.0.0.1:80', 'the test server', AbortSignal.timeout(10_000));
    expect(await readAll(socket)).toBe('banner');
    expect(request).toBe('CONNECT 10.0.0.1:80 HTTP/1.1\r\nHost: 10.0.0.1:80\r\nUser-Agent: spoke-konnectivity\r\n\r\n');
  });

  it('keeps destination bytes that arrive ahead of the 200 head, in order', async () => {
    // Upstream's proxy-server can write the destination's first bytes before its own answer.
    const port = await proxyServer((_head, socket) => {
      socket.write('SSH-2.0-x\r\n\r\n');
      socket.end('HTTP/1.1 200 Connection Established\r\n\r\nmore');
    });
    const socket = await httpConnect(await connect(port), '10.0.0.1:22', 'the test server', AbortSignal.timeout(10_000));
    expect(await readAll(socket)).toBe('SSH-2.0-x\r\n\r\nmore');
  });

  it("maps a refusal's text (read until the server closes) to the dial code it names", async () => {
    const port = await proxyServer((_head, socket) => {
      socket.write('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n');
      setImmediate(() => socket.end('dial tcp 10.0.0.1:80: connect: connection refused\n'));
    });
    const err = await failure(port);
    expect(err.code).toBe('ERR_DIAL_REFUSED');
    expect(err.message).toContain('HTTP 503 "dial tcp 10.0.0.1:80: connect: connection refused"');
  });

  it('answers 405 (not an http-connect front end) with ERR_PROXY_STATUS', async () => {
    const port = await proxyServer((_head, socket) => socket.end('HTTP/1.1 405 Method Not Allowed\r\n\r\nonly CONNECT'));
    const err = await failure(port);
    expect(err.code).toBe('ERR_PROXY_STATUS');
    expect(err.message).toContain('HTTP 405 to CONNECT 10.0.0.1:80: only CONNECT');
  });

  it('fails a close before any answer and a non-HTTP answer with ERR_PROTOCOL', async () => {
    const silent = await proxyServer((_head, socket) => socket.end());
    const closed = await failure(silent);
    expect(closed.code).toBe('ERR_PROTOCOL');
    expect(closed.message).toContain('closed the connection before answering');
    const garbage = await proxyServer((_head, socket) => socket.end('HTTP/2 200\r\n\r\n'));
    const notHttp1 = await failure(garbage);
    expect(notHttp1.code).toBe('ERR_PROTOCOL');
    expect(notHttp1.message).toContain('"HTTP/2 200"');
  });
});

describe('the tunnel stream of a dial (ConnectStream)', () => {
  const granted = 'HTTP/1.1 200 Connection Established\r\n\r\n';

  it('keeps an end the server sent before the stream was made, for a later reader', async () => {
    const port = await proxyServer((_head, socket) => socket.end(granted));
    const raw = await httpConnect(await connect(port), '10.0.0.1:80', 'the test server', AbortSignal.timeout(10_000));
    // Unread, the bare socket spends its 'end' on the server's EOF (nothing is buffered) and closes.
    await closed(raw);
    expect(raw.readableEnded).toBe(true);
    const stream = new ConnectStream(raw, 100);
    expect(stream.readableEnded).toBe(false);
    expect(await readAll(stream)).toBe('');
    await closed(stream);
  });

  it('does not turn a reset of the connection into a clean end', async () => {
    const port = await proxyServer((_head, socket) => {
      socket.write(granted);
      socket.once('data', () => socket.resetAndDestroy());
    });
    const stream = new ConnectStream(
      await httpConnect(await connect(port), '10.0.0.1:80', 'the test server', AbortSignal.timeout(10_000)),
      100,
    );
    let ended = false;
    stream.on('end', () => (ended = true));
    stream.resume();
    stream.write('x');
    const err = await closed(stream);
    expect(err).toMatchObject({ code: 'ECONNRESET' });
    expect(ended).toBe(false);
  });
});
