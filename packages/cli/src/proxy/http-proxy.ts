import http from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { SpokeError, createHttpAgent, parseTarget, type Dialer, type Target } from '@spoke/transport-core';
import { asError, endToEndRawHeaders, httpErrorResponse, rawHttpError } from '@spoke/transport-core/utils';
import { closeWith, dialForClient, peerName, relayClient, PROXY, type RelayContext } from '../relay.js';
import { createHeadDeadlines } from './head-deadline.js';
import { PROXY_AUTH_REQUIRED, RAW_PROXY_AUTH_REQUIRED, type ProxyCredentials } from './proxy-auth.js';
import { tcpTargetOnly } from './unix-targets.js';

/** Options of {@link createHttpProxyServer}. */
export interface HttpProxyOptions {
  /** Time a client has to send its request head. */
  handshakeTimeoutMs: number;
  /** When given, every request and CONNECT needs a matching `Proxy-Authorization`; others get 407. */
  auth?: ProxyCredentials;
}

/** The HTTP proxy of {@link createHttpProxyServer}. */
export interface HttpProxy {
  /** Serves a client connection the caller accepted (and admitted). */
  accept(socket: net.Socket): void;
  /** Closes idle client connections and their upstream connections. */
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
 * kept-alive connection) gets a 408 and is disconnected. With `auth`, a
 * request or CONNECT without matching credentials gets a 407 and the
 * connection is closed.
 */
export function createHttpProxyServer(relay: RelayContext, options: HttpProxyOptions): HttpProxy {
  const agents = createClientAgents(relayDialer(relay));
  // The server never listens (connections are handed to it), so Node's own headersTimeout
  // checks never run on them: head deadlines are ours.
  const server = http.createServer({ requestTimeout: 0 });
  const deadlines = createHeadDeadlines(options.handshakeTimeoutMs);
  const authorized = (req: http.IncomingMessage): boolean => {
    if (!options.auth || options.auth.checkHeader(req.headers['proxy-authorization'])) return true;
    relay.logger.warn('proxy authentication failed', { client: peerName(req.socket), protocol: 'http' });
    return false;
  };
  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    deadlines.tunnelled(req.socket);
    if (!authorized(req)) {
      closeWith(socket, RAW_PROXY_AUTH_REQUIRED);
      return;
    }
    void tunnel(relay, req, socket, head);
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    deadlines.requestStarted(req.socket, res);
    if (!authorized(req)) {
      res.writeHead(PROXY_AUTH_REQUIRED.status, PROXY_AUTH_REQUIRED.headers).end(PROXY_AUTH_REQUIRED.body);
      return;
    }
    forward(relay, agents.of(req.socket), req, res);
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
      agents.destroyAll();
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
  const framing = bodyFraming(req);
  if (framing instanceof SpokeError) {
    // The answer says Connection: close: nothing after this head can be trusted to start a request.
    const { status, headers, body } = httpErrorResponse(framing, PROXY);
    res.writeHead(status, headers).end(body);
    return;
  }
  // Transfer-Encoding is hop-by-hop and dropped with the rest; a chunked body is chunked again on the way out,
  // whatever the method (Node would otherwise send a GET's body unframed, as the start of a next request).
  const headers = endToEndRawHeaders(req.rawHeaders);
  if (framing === 'chunked') headers.push('Transfer-Encoding', 'chunked');
  const upstream = http.request({
    agent,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 80 : Number(url.port),
    method: req.method,
    path: `${url.pathname}${url.search}`,
    headers,
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

/**
 * How a request's body is delimited: by its Content-Length (kept as an end-to-end header), by chunks, or
 * not at all. Both headers at once, or a transfer coding other than plain `chunked`, cannot be forwarded
 * without two parsers disagreeing on where the message ends: refused.
 */
function bodyFraming(req: http.IncomingMessage): 'length' | 'chunked' | 'none' | SpokeError {
  const te = req.headers['transfer-encoding'];
  const length = req.headers['content-length'];
  if (te === undefined) return length === undefined ? 'none' : 'length';
  if (length !== undefined)
    return new SpokeError('ERR_BAD_TARGET', 'The request has both Content-Length and Transfer-Encoding; send one of them.');
  if (te.trim().toLowerCase() !== 'chunked')
    return new SpokeError(
      'ERR_BAD_TARGET',
      `Transfer-Encoding ${JSON.stringify(te)} is not forwarded; send the body chunked or with a Content-Length.`,
    );
  return 'chunked';
}

interface ClientAgents {
  /** The agent whose upstream connections serve `socket`'s requests only. */
  of(socket: Duplex): http.Agent;
  destroyAll(): void;
}

/**
 * One keep-alive agent per client connection: an upstream connection is never handed to another client,
 * so whatever one client leaves on it (a half-read answer, a smuggled request) cannot reach another.
 * The agent and its connections go when the client does.
 */
function createClientAgents(dialer: Dialer): ClientAgents {
  const agents = new Map<Duplex, http.Agent>();
  return {
    of(socket) {
      let agent = agents.get(socket);
      if (!agent) {
        const created = createHttpAgent(dialer, { keepAlive: true, maxSockets: 1 });
        agents.set(socket, created);
        socket.once('close', () => {
          agents.delete(socket);
          created.destroy();
        });
        agent = created;
      }
      return agent;
    },
    destroyAll() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
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
