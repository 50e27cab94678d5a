import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type tls from 'node:tls';

/** How the test proxy behaves. */
export interface ProxyOptions {
  /** Listen with TLS (an https proxy), e.g. `{ cert, key, ca, requestCert: true, rejectUnauthorized: true }`. */
  tls?: tls.TlsOptions;
  /** Listen on this unix socket path instead of 127.0.0.1:0. */
  path?: string;
  /** Required value of Proxy-Authorization; others get 407. */
  authorization?: string;
  /** Wait for the target's first bytes and send them in the same write as the 200 answer. */
  coalesceFirstChunk?: boolean;
  /** Answer every CONNECT with this raw response instead of tunnelling. */
  cannedAnswer?: string;
}

/** A running test proxy. */
export interface TestProxy {
  /** `"127.0.0.1:port"` or `"unix:/path"`. */
  address: string;
  port: number;
  /** Request heads the proxy received, for assertions. */
  requests: Array<{ url: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/**
 * A small HTTP CONNECT proxy written for the tests: `net.connect` to the
 * requested host:port, 200 and a byte pipe on success, and on failure a 502
 * that names the reason in `X-Spoke-Error-Code`. Resets travel both ways.
 */
export async function startConnectProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const sockets = new Set<net.Socket>();
  const requests: TestProxy['requests'] = [];
  const server = options.tls ? https.createServer(options.tls) : http.createServer();
  // TCP connections by peer address, so a TLS client connection can be reset at the TCP level.
  const raw = new Map<string, net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    const key = `${s.remoteAddress}:${s.remotePort}`;
    raw.set(key, s);
    s.once('close', () => {
      sockets.delete(s);
      raw.delete(key);
    });
  });
  const reset = (client: net.Socket): void => {
    if (client.destroyed) return;
    const tcp = options.tls ? raw.get(`${client.remoteAddress}:${client.remotePort}`) : client;
    tcp?.resetAndDestroy();
    client.destroy();
  };
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    client.on('error', () => {});
    // Tunnels half-close: the client's end must not end our answer direction (https sockets default otherwise).
    client.allowHalfOpen = true;
    if (options.cannedAnswer !== undefined) {
      client.end(options.cannedAnswer);
      return;
    }
    if (options.authorization !== undefined && req.headers['proxy-authorization'] !== options.authorization) {
      answer(client, '407 Proxy Authentication Required', 'proxy credentials required', { 'Proxy-Authenticate': 'Basic realm="test"' });
      return;
    }
    const [, host = '', port = ''] = /^\[?([^\]]*)\]?:(\d+)$/.exec(req.url ?? '') ?? [];
    const upstream = net.connect({ host, port: Number(port), allowHalfOpen: true });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    let connected = false;
    // A client that gives up (end or reset) before the target answered takes the pending connect with it.
    client.once('end', () => {
      if (!connected) client.destroy();
    });
    client.once('close', () => {
      // resetAndDestroy() on a socket still connecting waits for the connect, which may never come.
      if (upstream.connecting) upstream.destroy();
      else if (!upstream.destroyed) upstream.resetAndDestroy();
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected) {
        const code =
          err.code === 'ECONNREFUSED' ? 'ERR_DIAL_REFUSED' : err.code === 'ENOTFOUND' ? 'ERR_DIAL_UNREACHABLE' : 'ERR_DIAL_FAILED';
        answer(client, '502 Bad Gateway', `cannot reach ${req.url}: ${err.code}`, { 'X-Spoke-Error-Code': code });
      } else reset(client);
    });
    upstream.once('connect', () => {
      connected = true;
      const established = 'HTTP/1.1 200 Connection Established\r\n\r\n';
      const pipe = (): void => {
        if (head.length > 0) upstream.write(head);
        client.pipe(upstream);
        upstream.pipe(client);
      };
      if (options.coalesceFirstChunk) {
        upstream.once('data', (first: Buffer) => {
          client.write(Buffer.concat([Buffer.from(established), first]));
          pipe();
        });
      } else {
        client.write(established);
        pipe();
      }
    });
  });
  if (options.path !== undefined) server.listen(options.path);
  else server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = options.path === undefined ? (server.address() as net.AddressInfo).port : 0;
  return {
    address: options.path === undefined ? `127.0.0.1:${port}` : `unix:${options.path}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function answer(client: net.Socket, status: string, body: string, headers: Record<string, string>): void {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  client.end(
    `HTTP/1.1 ${status}\r\n${extra}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
