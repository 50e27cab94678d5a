import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { SpokeError, createHttpAgent, parseTarget, type Dialer, type Target } from '@spoke/transport-core';
import { asError, endToEndRawHeaders, httpErrorResponse, rawHttpError } from '@spoke/transport-core/utils';
import { closeWith, dialForClient, peerName, relayClient, PROXY, type RelayContext } from '../relay.js';
import { createHeadDeadlines } from './head-deadline.js';
import { tcpTargetOnly } from './unix-targets.js';

/** Options of {@link createHttpProxyServer}. */
export interface HttpProxyOptions {
  /** Time a client has to send its request head. */
  handshakeTimeoutMs: number;
}

/** The HTTP proxy of {@link createHttpProxyServer}. */
export interface HttpProxy {
  /** Serves a client connection the caller accepted (and admitted). */
  accept(socket: net.Socket): void;
  /** Closes idle client connections and pooled upstream connections. */
  close(): void;
}

/**
 * An HTTP proxy over `relay`'s dialer: `CONNECT host:port` tunnels (any
 * protocol, e.g. HTTPS) and plain HTTP requests in absolute form
 * (`GET http://host/path`), each forwarded through the dialer. A failed dial
 * is answered with 403/502/503/504, an `X-Spoke-Error-Code` header and a text
 * body naming the SpokeError code. `unix:` targets are refused (403,
 * ERR_DIAL_DENIED). A client that has not sent a complete request head
 * within `handshakeTimeoutMs` (of connecting, or of its last answer on a
 * kept-alive connection) gets a 408 and is disconnected.
 */
export function createHttpProxyServer(relay: RelayContext, options: HttpProxyOptions): HttpProxy {
  const agent = createHttpAgent(relayDialer(relay), { keepAlive: true });
  // The server never listens (connections are handed to it), so Node's own headersTimeout
  // checks never run on them: head deadlines are ours.
  const server = http.createServer({ requestTimeout: 0 });
  const deadlines = createHeadDeadlines(options.handshakeTimeoutMs);
  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    deadlines.tunnelled(req.socket);
    void tunnel(relay, req, socket, head);
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    deadlines.requestStarted(req.socket, res);
    forward(relay, agent, req, res);
  });
  server.on('clientError', (_err, socket: Duplex) => {
    if (socket.writable) closeWith(socket, rawHttpError(new SpokeError('ERR_BAD_TARGET', 'Malformed or incomplete HTTP request.'), PROXY));
    else socket.destroy();
  });
  return {
    accept(socket) {
      deadlines.arm(socket);
      server.emit('connection', socket);
    },
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
    target = tcpTargetOnly(relay, parseTarget(req.url ?? ''), client);
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
    dial: (target) => {
      try {
        return dialForClient(relay, tcpTargetOnly(relay, parseTarget(target), 'http-proxy'), 'http-proxy');
      } catch (err) {
        return Promise.reject(asError(err));
      }
    },
    close: async () => {},
  };
}
