import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { silentLogger } from '@spoke/transport-core';
import { listen } from '@spoke/transport-core/utils';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { ChannelSocket, PORT_FORWARD_CHANNEL_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS, SPDY_TUNNEL_PROTOCOL } from './channels.js';
import type { NodeConfig } from './config.js';
import { LogOptionsError, parseLogOptions, streamLog } from './container-logs.js';
import { parseStreamRequest, runAttach, runExec, type CommandIo, type StreamRequest } from './remote-command.js';
import { DEFAULT_STREAM_CREATION_TIMEOUT_MS, REMOTE_COMMAND_SPDY_PROTOCOLS, serveRemoteCommandSpdy } from './remote-command-spdy.js';
import { webSocketCommandIo } from './remote-command-ws.js';
import { servePortForwardChannels, servePortForwardSpdy } from './port-forward.js';
import { PodRuntime, type Container, type Pod } from './runtime.js';
import { parseRoute, type Route } from './routes.js';
import { acceptSpdyUpgrade, rawError } from './upgrade.js';

/** Live counters, for tests and the demo. */
export interface NodeStats {
  /** `containerLogs?follow=true` responses still streaming. */
  logFollowers: number;
  /** Open exec/attach sessions (WebSocket or SPDY). */
  remoteCommands: number;
  /** Open port-forward connections (SPDY or WebSocket). */
  portForwards: number;
}

/** A running kubelet-shaped node. */
export interface KubeletNode {
  readonly name: string;
  /** Bound address. */
  readonly host: string;
  /** Bound port (the kubelet port). */
  readonly port: number;
  /** The pods, as the node runs them. */
  readonly runtime: PodRuntime;
  stats(): NodeStats;
  /** Stops accepting, ends streams, stops processes; resolves when all is closed. */
  close(): Promise<void>;
}

/**
 * Starts a kubelet-shaped HTTPS server: client certificates required (chained
 * to `tls.clientCa`), `/healthz`, `/pods`, `/containerLogs`, `/exec`,
 * `/attach` (WebSocket and SPDY/3.1, `v5`/`v4.channel.k8s.io`) and `/portForward`
 * (SPDY/3.1, SPDY tunnelled in WebSocket, and the legacy WebSocket channels),
 * over stand-in pods made of local processes, files and HTTP servers.
 *
 * @example
 * ```ts
 * const node = await createNode({ name: 'node-a', tls: { cert, key, clientCa }, pods: [{ name: 'web', containers: [{ name: 'web', http: {} }] }] });
 * console.log(`kubelet on 127.0.0.1:${node.port}`);
 * await node.close();
 * ```
 */
export async function createNode(config: NodeConfig, options: { signal?: AbortSignal } = {}): Promise<KubeletNode> {
  const logger = (config.logger ?? silentLogger).child({ node: config.name });
  const streamCreationTimeoutMs = config.streamCreationTimeoutMs ?? DEFAULT_STREAM_CREATION_TIMEOUT_MS;
  const runtime = new PodRuntime(config.name, logger);
  await runtime.start(config.pods);
  const counters: NodeStats = { logFollowers: 0, remoteCommands: 0, portForwards: 0 };
  const sockets = new Set<Socket>();
  const upgraded = new Set<Duplex>();

  const server = https.createServer({
    cert: config.tls.cert,
    key: config.tls.key,
    ca: config.tls.clientCa,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  // kubelet: 4 h read/write timeouts for streaming; no request timeout of ours.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered, req) => {
      const route = parseRoute(req.url ?? '/');
      const supported: readonly string[] =
        route.kind === 'portForward' ? [SPDY_TUNNEL_PROTOCOL, ...PORT_FORWARD_CHANNEL_PROTOCOLS] : REMOTE_COMMAND_PROTOCOLS;
      // Client order wins among those we support.
      for (const p of offered) if (supported.includes(fromWsToken(p))) return p;
      return false;
    },
  });
  // Give the client back the protocol name it sent, not ws's token-safe stand-in.
  wss.on('headers', (headers: string[]) => {
    for (let i = 0; i < headers.length; i++)
      headers[i] = (headers[i] as string).replace(
        /^(Sec-WebSocket-Protocol: )(.*)$/i,
        (_m, h: string, v: string) => `${h}${fromWsToken(v)}`,
      );
  });

  server.on('request', (req, res) => {
    handleRequest(req, res).catch((err: unknown) => {
      logger.warn('request failed', { path: req.url, error: (err as Error).message });
      if (!res.headersSent) text(res, 500, (err as Error).message);
      else res.destroy();
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
    try {
      handleUpgrade(req, socket, head);
    } catch (err) {
      rawError(socket, 500, (err as Error).message);
    }
  });

  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://node');
    const route = parseRoute(url.pathname);
    switch (route.kind) {
      case 'healthz':
        return text(res, 200, 'ok');
      case 'pods': {
        if (req.method !== 'GET') {
          res.setHeader('allow', 'GET');
          return text(res, 405, 'method not allowed');
        }
        const items = [...runtime.pods.values()].map((p) => runtime.toObject(p));
        return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
      }
      case 'containerLogs': {
        const found = lookup(route);
        if (typeof found === 'string') return text(res, 404, found);
        if (!found.container) return text(res, 404, 'container not found');
        const log = found.container.log;
        let opts;
        try {
          opts = parseLogOptions(url.searchParams);
        } catch (err) {
          if (err instanceof LogOptionsError) return text(res, 422, err.message);
          throw err;
        }
        await streamLog(log, opts, res, (d) => (counters.logFollowers += d));
        return;
      }
      case 'exec':
      case 'attach':
      case 'portForward':
        return text(res, 400, 'Upgrade request required: use a WebSocket (v5.channel.k8s.io / v4.channel.k8s.io) or SPDY/3.1 upgrade.');
      default:
        return text(res, 404, '404 page not found');
    }
  }

  function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'https://node');
    const route = parseRoute(url.pathname);
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    if (route.kind !== 'exec' && route.kind !== 'attach' && route.kind !== 'portForward')
      return rawError(socket, 404, '404 page not found');
    const found = lookup(route);
    if (typeof found === 'string') return rawError(socket, 404, found);
    const streams = route.kind === 'portForward' ? undefined : parseStreamRequest(url.searchParams);
    if (typeof streams === 'string') return rawError(socket, 400, streams);
    const container = found.container;
    if (route.kind !== 'portForward' && !container) return rawError(socket, 404, 'container not found');
    if (upgrade === 'spdy/3.1') {
      if (route.kind === 'portForward') {
        if (!acceptSpdyUpgrade(req, socket, head, ['portforward.k8s.io'])) return;
        counters.portForwards++;
        socket.once('close', () => counters.portForwards--);
        servePortForwardSpdy(socket, found.pod, { logger, streamCreationTimeoutMs });
        return;
      }
      const protocol = acceptSpdyUpgrade(req, socket, head, REMOTE_COMMAND_SPDY_PROTOCOLS);
      if (!protocol || !streams || !container) return;
      counters.remoteCommands++;
      socket.once('close', () => counters.remoteCommands--);
      serveRemoteCommandSpdy(socket, protocol, streams, { logger, streamCreationTimeoutMs }, (io) =>
        startCommand(route.kind, io, container, url, streams),
      );
      return;
    }
    if (upgrade !== 'websocket')
      return rawError(socket, 400, `unsupported upgrade ${JSON.stringify(req.headers.upgrade)}; use websocket or SPDY/3.1`);
    const offeredWs = req.headers['sec-websocket-protocol'];
    if (offeredWs !== undefined) req.headers['sec-websocket-protocol'] = toWsToken(offeredWs);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const protocol = fromWsToken(ws.protocol);
      if (route.kind === 'portForward') {
        counters.portForwards++;
        ws.once('close', () => counters.portForwards--);
        if (protocol === SPDY_TUNNEL_PROTOCOL) {
          servePortForwardSpdy(createWebSocketStream(ws), found.pod, { logger, streamCreationTimeoutMs });
          return;
        }
        const ports = url.searchParams
          .getAll('port')
          .flatMap((p) => p.split(','))
          .map(Number);
        servePortForwardChannels(new ChannelSocket(ws, protocol), found.pod, ports);
        return;
      }
      if (!container || !streams) return; // answered before the upgrade
      counters.remoteCommands++;
      ws.once('close', () => counters.remoteCommands--);
      startCommand(route.kind, webSocketCommandIo(new ChannelSocket(ws, protocol), streams), container, url, streams);
    });
  }

  function startCommand(kind: 'exec' | 'attach', io: CommandIo, container: Container, url: URL, streams: StreamRequest): void {
    if (kind === 'exec') runExec(io, container, url.searchParams.getAll('command'), streams, logger);
    else runAttach(io, container, streams);
  }

  function lookup(route: Route): { pod: Pod; container: Container | undefined } | string {
    if (!('namespace' in route)) return 'pod does not exist';
    const pod = runtime.get(route.namespace, route.pod);
    if (!pod) return 'pod does not exist';
    if (!('container' in route) || route.container === undefined) return { pod, container: undefined };
    const container = pod.containers.get(route.container);
    if (!container) return `container ${route.container} is not valid for pod ${route.pod}`;
    return { pod, container };
  }

  await listen(
    server,
    { host: config.host ?? '127.0.0.1', port: config.port ?? 0 },
    { what: `Node ${config.name}`, signal: options.signal },
  );
  const address = server.address() as AddressInfo;
  logger.info('node listening', { address: `${address.address}:${address.port}` });

  let closing: Promise<void> | undefined;
  return {
    name: config.name,
    host: address.address,
    port: address.port,
    runtime,
    stats: () => ({ ...counters }),
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        for (const client of wss.clients) client.terminate();
        for (const s of upgraded) s.destroy();
        for (const s of sockets) s.destroy();
        await closed;
        await runtime.stop();
        wss.close();
      })();
      return closing;
    },
  };
}

// ws accepts only RFC 7230 tokens as subprotocols, and "/" is not a token
// character; KEP-4006's "SPDY/3.1+portforward.k8s.io" goes through ws as "SPDY-3.1+...".
const TUNNEL_PREFIX = 'SPDY/3.1+';
const TUNNEL_TOKEN_PREFIX = 'SPDY-3.1+';
function toWsToken(offered: string): string {
  return offered.split(TUNNEL_PREFIX).join(TUNNEL_TOKEN_PREFIX);
}
function fromWsToken(protocol: string): string {
  return protocol.split(TUNNEL_TOKEN_PREFIX).join(TUNNEL_PREFIX);
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) + 1 });
  res.end(`${body}\n`);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
