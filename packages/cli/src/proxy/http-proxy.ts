import http from 'node:http';
import type { Duplex } from 'node:stream';
import { SpokeError, createHttpAgent, parseTarget, type Dialer, type Target } from '@spoke/transport-core';
import { endToEndRawHeaders, httpErrorResponse, rawHttpError } from '@spoke/transport-core/utils';
import { closeWith, dialForClient, peerName, relayClient, PROXY, type RelayContext } from '../relay.js';

/** Options of {@link createHttpProxyServer}. */
export interface HttpProxyOptions {
  /** Time a client has to send its request head. */
  handshakeTimeoutMs: number;
}

/**
 * An HTTP proxy over `relay`'s dialer: `CONNECT host:port` tunnels (any
 * protocol, e.g. HTTPS) and plain HTTP requests in absolute form
 * (`GET http://host/path`), each forwarded through the dialer. A failed dial
 * is answered with 403/502/503/504, an `X-Spoke-Error-Code` header and a text
 * body naming the SpokeError code.
 */
export function createHttpProxyServer(relay: RelayContext, options: HttpProxyOptions): { server: http.Server; close(): void } {
  const agent = createHttpAgent(relayDialer(relay), { keepAlive: true });
  const server = http.createServer({
    headersTimeout: options.handshakeTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(1000, options.handshakeTimeoutMs),
  });
  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void tunnel(relay, req, socket, head));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => forward(relay, agent, req, res));
  server.on('clientError', (_err, socket: Duplex) => {
    if (socket.writable) closeWith(socket, rawHttpError(new SpokeError('ERR_BAD_TARGET', 'Malformed or incomplete HTTP request.'), PROXY));
    else socket.destroy();
  });
  return {
    server,
    close() {
      server.closeIdleConnections();
      agent.destroy();
    },
  };
}

async function tunnel(relay: RelayContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const client = peerName(req.socket);
  socket.on('error', () => {});
  let target: Target;
  try {
    target = parseTarget(req.url ?? '');
  } catch (err) {
    closeWith(socket, rawHttpError(err, PROXY));
    return;
  }
  try {
    await relayClient(relay, socket, target, client, (upstream) => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      // Bytes the client sent right after its CONNECT head belong to the tunnel.
      if (head.length > 0) upstream.write(head);
    });
  } catch (err) {
    closeWith(socket, rawHttpError(err, PROXY));
  }
}

function forward(relay: RelayContext, agent: http.Agent, req: http.IncomingMessage, res: http.ServerResponse): void {
  let url: URL;
  try {
    url = new URL(req.url ?? '');
    if (url.protocol !== 'http:') throw new Error('not http');
  } catch {
    const body =
      'spoke proxy: send CONNECT host:port, or an absolute-form http:// request (e.g. GET http://host/path); https:// goes through CONNECT.\n';
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }).end(body);
    return;
  }
  const upstream = http.request({
    agent,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 80 : Number(url.port),
    method: req.method,
    path: `${url.pathname}${url.search}`,
    headers: endToEndRawHeaders(req.rawHeaders),
    setHost: false,
  });
  req.on('data', (chunk: Buffer) => relay.stats.sent(chunk.length));
  req.pipe(upstream);
  upstream.on('response', (answer) => {
    answer.on('data', (chunk: Buffer) => relay.stats.received(chunk.length));
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndRawHeaders(answer.rawHeaders));
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  upstream.on('error', (err) => {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    const { status, headers, body } = httpErrorResponse(err, PROXY);
    res.writeHead(status, headers).end(body);
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
}

// The agent's connections go through the relay so they are bounded, logged and counted like tunnels.
function relayDialer(relay: RelayContext): Dialer {
  return {
    kind: relay.dialer.kind,
    dial: (target) => dialForClient(relay, parseTarget(target), 'http-proxy'),
    close: async () => {},
  };
}
