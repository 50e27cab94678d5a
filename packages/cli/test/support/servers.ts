import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** A server on 127.0.0.1:0 and how to stop it. */
export interface Served {
  port: number;
  address: string;
  close(): Promise<void>;
}

function track(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

async function listen(server: net.Server): Promise<Served> {
  const close = track(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { port, address: `127.0.0.1:${port}`, close };
}

/** An HTTP server answering every request with `hello from <path>` (and echoing POST bodies' length). */
export async function startHttpServer(): Promise<Served & { requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} host=${req.headers.host ?? ''}`);
    let received = 0;
    req.on('data', (c: Buffer) => {
      received += c.length;
    });
    req.on('end', () => {
      const body = req.method === 'POST' ? `received ${received}\n` : `hello from ${req.url}\n`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Test-Server': 'yes' }).end(body);
    });
  });
  return { ...(await listen(server)), requests };
}

/** A raw TCP server running `handler` per connection (half-close allowed). */
export async function startTcpServer(handler: (socket: net.Socket) => void): Promise<Served> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    handler(s);
  });
  return listen(server);
}

/**
 * A tiny HTTP CONNECT proxy for tests, standing in for "the far side of a
 * tunnel": it resolves names itself from `names` (so a name only it knows
 * proves the client did not resolve it), records each CONNECT target, and
 * refuses targets in `deny` with 403 + `X-Spoke-Error-Code: ERR_DIAL_DENIED`.
 */
export async function startConnectProxy(
  options: { names?: Record<string, string>; deny?: string[] } = {},
): Promise<Served & { connects: string[] }> {
  const connects: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {});
    const authority = req.url ?? '';
    connects.push(authority);
    if (options.deny?.includes(authority)) {
      const body = 'denied by test policy\n';
      socket.end(`HTTP/1.1 403 Forbidden\r\nX-Spoke-Error-Code: ERR_DIAL_DENIED\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    const colon = authority.lastIndexOf(':');
    const host = authority.slice(0, colon);
    const port = Number(authority.slice(colon + 1));
    const upstream = net.connect({ host: options.names?.[host] ?? host, port });
    upstream.on('error', () => {
      if (socket.writable) socket.end('HTTP/1.1 502 Bad Gateway\r\nX-Spoke-Error-Code: ERR_DIAL_REFUSED\r\nContent-Length: 0\r\n\r\n');
    });
    upstream.once('connect', () => {
      upstream.removeAllListeners('error');
      upstream.on('error', () => socket.destroy());
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
  });
  return { ...(await listen(server)), connects };
}
