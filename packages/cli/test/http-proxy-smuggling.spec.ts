import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type CliProcess } from './support/cli-process.js';
import { connectTo } from './support/raw-socket.js';

const LISTENING = /^spoke proxy listening: (.+)$/m;

interface Upstream {
  address: string;
  /** `METHOD PATH body=...` for each request the server parsed, in order. */
  requests: string[];
  /** For each request, the number of the upstream connection it came on. */
  connections: number[];
  close(): Promise<void>;
}

/** A real HTTP/1.1 server (keep-alive) that records what it parses and answers `answer to PATH`. */
async function startRecordingServer(): Promise<Upstream> {
  const requests: string[] = [];
  const connections: number[] = [];
  const sockets = new Set<net.Socket>();
  const numbers = new WeakMap<net.Socket, number>();
  let accepted = 0;
  const server = http.createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      connections.push(numbers.get(req.socket) ?? -1);
      requests.push(`${req.method} ${req.url} body=${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`);
      const body = `answer to ${req.url}\n`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) }).end(body);
    });
  });
  server.on('connection', (s: net.Socket) => {
    numbers.set(s, (accepted += 1));
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    requests,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A raw TCP client of the proxy; `answer()` resolves with (and consumes) the next complete response (Content-Length or chunked). */
async function rawClient(address: string): Promise<{ socket: net.Socket; answer(): Promise<string> }> {
  const socket = await connectTo(address);
  let received = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  socket.on('close', () => {
    for (const w of waiters.splice(0)) w();
  });
  const complete = (): string | undefined => {
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const head = received.slice(0, end);
    const length = /^content-length:\s*(\d+)/im.exec(head);
    if (length) {
      const total = end + 4 + Number(length[1]);
      return received.length >= total ? received.slice(0, total) : undefined;
    }
    if (/^transfer-encoding:\s*chunked/im.test(head)) {
      const last = received.indexOf('\r\n0\r\n\r\n', end);
      return last < 0 ? undefined : received.slice(0, last + 7);
    }
    return socket.destroyed ? received : undefined;
  };
  const answer = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const text = complete();
        if (text !== undefined) {
          received = received.slice(text.length);
          resolve(text);
        } else if (socket.destroyed) reject(new Error(`connection closed after ${JSON.stringify(received)}`));
        else waiters.push(check);
      };
      check();
    });
  return { socket, answer };
}

describe('spoke proxy --http request framing (issue 17 #9)', () => {
  let upstream: Upstream;
  let proxy: CliProcess;
  let address = '';
  beforeAll(async () => {
    upstream = await startRecordingServer();
    proxy = startCli(['proxy', '--http', '127.0.0.1:0']);
    const [, line = ''] = await proxy.line(LISTENING);
    address = /http (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
  });
  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  it('a GET with a chunked body reaches the upstream as one request with that body; another client never gets the smuggled answer', async () => {
    const smuggled = `GET /smuggled HTTP/1.1\r\nHost: ${upstream.address}\r\n\r\n`;
    const a = await rawClient(address);
    const b = await rawClient(address);
    try {
      a.socket.write(
        `GET http://${upstream.address}/a HTTP/1.1\r\nHost: ${upstream.address}\r\nTransfer-Encoding: chunked\r\n\r\n` +
          `${Buffer.byteLength(smuggled).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
      );
      const answerA = await a.answer();
      b.socket.write(`GET http://${upstream.address}/b HTTP/1.1\r\nHost: ${upstream.address}\r\n\r\n`);
      const answerB = await b.answer();

      expect(answerB).toMatch(/^HTTP\/1\.1 200 /);
      expect(answerB).toContain('answer to /b\n');
      expect(answerB).not.toContain('/smuggled');
      if (/^HTTP\/1\.1 400 /.test(answerA)) {
        expect(upstream.requests).toEqual([`GET /b body=""`]);
      } else {
        expect(answerA).toContain('answer to /a\n');
        expect(upstream.requests).toEqual([`GET /a body=${JSON.stringify(smuggled)}`, `GET /b body=""`]);
        // Each client has its own upstream connection: nothing A leaves on one can reach B.
        expect(new Set(upstream.connections).size).toBe(2);
      }
    } finally {
      a.socket.destroy();
      b.socket.destroy();
    }
  });

  it.each([
    ['both Content-Length and Transfer-Encoding', 'Content-Length: 4\r\nTransfer-Encoding: chunked'],
    ['a transfer coding other than chunked', 'Transfer-Encoding: gzip, chunked'],
  ])('a request with %s is refused with 400 and never forwarded', async (_what, framing) => {
    const before = upstream.requests.length;
    const client = await rawClient(address);
    try {
      client.socket.write(`POST http://${upstream.address}/bad HTTP/1.1\r\nHost: ${upstream.address}\r\n${framing}\r\n\r\n0\r\n\r\n`);
      expect(await client.answer()).toMatch(/^HTTP\/1\.1 400 /);
      expect(upstream.requests.slice(before)).toEqual([]);
    } finally {
      client.socket.destroy();
    }
  });

  it('a Content-Length body and a chunked POST body are forwarded intact, each with its own framing', async () => {
    const before = upstream.requests.length;
    const client = await rawClient(address);
    try {
      client.socket.write(`POST http://${upstream.address}/sized HTTP/1.1\r\nHost: ${upstream.address}\r\nContent-Length: 5\r\n\r\nhello`);
      expect(await client.answer()).toContain('answer to /sized\n');
      client.socket.write(
        `POST http://${upstream.address}/chunked HTTP/1.1\r\nHost: ${upstream.address}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n`,
      );
      expect(await client.answer()).toContain('answer to /chunked\n');
      expect(upstream.requests.slice(before)).toEqual([`POST /sized body="hello"`, `POST /chunked body="abcde"`]);
    } finally {
      client.socket.destroy();
    }
  });
});
