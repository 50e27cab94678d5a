import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  SpokeError,
  certFingerprint,
  createMetricsRegistry,
  formatTarget,
  frameLimit,
  isAbortError,
  isLoopbackHost,
  parseTarget,
  runDial,
  silentLogger,
  splice,
  type DialOptions,
  type Dialer,
  type Logger,
  type Session,
  type SessionOptions,
  type Target,
} from '@spoke/transport-core';
import { sessionOverWebSocket } from './ws-carrier.js';
import { createSelfSignedCertificate } from '@spoke/transport-core/pki';
import { bearerToken, peerOf, tokenMatches } from './auth.js';
import { parseIdentifiers, type AgentIdentifiers } from './identifiers.js';
import { route, type RouteReason } from './router.js';

/** Session limits a hub applies to every agent and client session. */
export type HubSessionOptions = Partial<Omit<SessionOptions, 'role' | 'id' | 'identifiers' | 'onDial' | 'onHello' | 'auth' | 'extensions'>>;

/** Options of {@link createHub}. */
export interface HubOptions {
  /** Where agents and clients connect. Default `127.0.0.1:0`. */
  listen?: { host: string; port: number };
  /** PEM serving certificate and key. Without them the hub generates a self-signed certificate (see `fingerprint`). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** PEM CA bundle: agents and clients presenting a certificate it signed are authenticated (mTLS). */
  clientCa?: string | Buffer;
  /** Bearer tokens accepted from agents. */
  agentTokens?: readonly string[];
  /** Bearer tokens accepted from clients (spoke+wss:// dialers, the CONNECT front end). */
  clientTokens?: readonly string[];
  /** Serve plain `ws://` (loopback only; say so loudly). Default false. */
  insecurePlaintext?: boolean;
  /** HTTP CONNECT front end: a TCP address (needs a client token) or a unix socket (file permissions guard it). */
  connect?: { host: string; port: number } | { path: string };
  /** This hub's id, announced to agents (HA). Default a random UUID. */
  id?: string;
  /** How many hubs serve behind one address (agents connect until they reach this many distinct hubs). Default 1. */
  hubCount?: number;
  /** Limits of every session. */
  session?: HubSessionOptions;
  /** Grace for streams on `close()`. Default 30000 ms. */
  drainTimeoutMs?: number;
  logger?: Logger;
}

/** A connected agent as the hub sees it. */
export interface HubAgentInfo {
  id: string;
  identifiers: string;
  remote: string;
  streams: number;
  draining: boolean;
  connectedAt: Date;
}

interface AgentEntry {
  key: string;
  id: string;
  identifiers: AgentIdentifiers;
  rawIdentifiers: string;
  session: Session;
  remote: string;
  connectedAt: Date;
  get draining(): boolean;
  get load(): number;
}

/** A running hub. */
export interface Hub {
  readonly id: string;
  /** `wss://host:port` (or `ws://` in insecure mode) for agents and clients. */
  readonly url: string;
  /** `sha256:<hex>` of the serving certificate, for agents to pin. */
  readonly fingerprint: string | undefined;
  /** The serving certificate (PEM), e.g. to hand to clients as a CA. */
  readonly certificate: string | undefined;
  /** `host:port` or `unix:/path` of the CONNECT front end, if enabled. */
  readonly connectAddress: string | undefined;
  /** Dials `target` through the best agent. */
  dial(target: Target | string, options?: DialOptions): Promise<Duplex>;
  /** The hub as an in-process Dialer. */
  dialer(): Dialer;
  /** Connected agents. */
  agents(): HubAgentInfo[];
  /** Prometheus text. */
  metrics(): string;
  /** Resolves when at least `n` agents are connected. */
  waitForAgents(n: number, options?: { signal?: AbortSignal }): Promise<void>;
  /** GOAWAY to everyone, streams drain up to the grace period, listeners close. */
  close(): Promise<void>;
  /** Immediate teardown. */
  destroy(): void;
}

const DIAL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Starts a hub: agents in node networks connect out to it over WSS and the
 * control plane dials node addresses through them (in-process, over
 * `spoke+wss://` client sessions, or with HTTP CONNECT).
 */
export async function createHub(options: HubOptions = {}): Promise<Hub> {
  const log = (options.logger ?? silentLogger).child({ component: 'hub' });
  const listen = options.listen ?? { host: '127.0.0.1', port: 0 };
  const id = options.id ?? randomUUID();
  const hubCount = options.hubCount ?? 1;
  const agentTokens = options.agentTokens ?? [];
  const clientTokens = options.clientTokens ?? [];
  if (options.insecurePlaintext && !isLoopbackHost(listen.host)) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `insecurePlaintext is allowed only on loopback, not on ${listen.host}. Serve TLS (the default) instead.`,
    );
  }
  if (agentTokens.length === 0 && options.clientCa === undefined) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      'A hub needs agent authentication: give agentTokens (--agent-token-file) or clientCa (--client-ca) for mTLS.',
    );
  }
  if (!Number.isInteger(hubCount) || hubCount < 1)
    throw new SpokeError('ERR_BAD_OPTION', `hubCount must be a positive integer, got ${hubCount}.`);

  let tlsMaterial = options.tls;
  let fingerprint: string | undefined;
  if (!options.insecurePlaintext) {
    if (!tlsMaterial) {
      const names = ['localhost', '127.0.0.1', '::1', listen.host].filter((n, i, a) => n !== '0.0.0.0' && n !== '::' && a.indexOf(n) === i);
      const self = createSelfSignedCertificate({ commonName: `spoke-hub ${id}`, altNames: names, usages: ['server'] });
      tlsMaterial = { cert: self.cert, key: self.key };
    }
    fingerprint = certFingerprint(String(tlsMaterial.cert));
  }

  const metrics = createMetricsRegistry();
  const agents = new Map<string, AgentEntry>();
  const clients = new Set<Session>();
  const events = new EventEmitter();
  metrics.gauge('spoke_hub_agents', 'Agents connected to this hub.', () => agents.size);
  metrics.gauge('spoke_hub_clients', 'Client sessions connected to this hub.', () => clients.size);
  metrics.gauge('spoke_hub_streams', 'Streams open through agents.', () => [...agents.values()].reduce((n, a) => n + a.load, 0));
  const bytes = metrics.counter('spoke_hub_bytes_total', 'Bytes carried to and from agents (DATA payload).');
  const dialSeconds = metrics.histogram('spoke_hub_dial_duration_seconds', 'Time to open a stream through an agent.', DIAL_BUCKETS);
  const dialFailures = metrics.counter('spoke_hub_dial_failures_total', 'Failed dials by error code.');
  const authFailures = metrics.counter('spoke_hub_auth_failures_total', 'Refused agent or client connections.');

  const sessionDefaults: HubSessionOptions = { drainTimeoutMs: options.drainTimeoutMs ?? 30_000, ...options.session };

  // ---- dialing through agents ----------------------------------------------------

  const dial = (input: Target | string, dialOptions?: DialOptions, onlyAgent?: string): Promise<Duplex> => {
    let target: Target;
    try {
      target = parseTarget(input);
    } catch (err) {
      return Promise.reject(err);
    }
    const t0 = performance.now();
    return runDial(dialOptions, { target, hop: 'hub' }, async (signal) => {
      const host = 'host' in target ? target.host : target.path;
      const candidates = [...agents.values()].filter(
        (a) => a.session.state !== 'closed' && (onlyAgent === undefined || a.id === onlyAgent),
      );
      const chosen = route(candidates, host);
      if (!chosen) {
        throw new SpokeError(
          'ERR_NO_ROUTE',
          onlyAgent !== undefined
            ? `Agent "${onlyAgent}" is not connected to this hub. Check the agent's logs, or drop agent= to route by address.`
            : `No agent is connected to this hub to reach ${formatTarget(target)}. Start an agent (spoke agent --hub ...) in the node network.`,
          { target, hop: 'hub' },
        );
      }
      const stream = await chosen.agent.session.dial(target, { signal });
      log.debug('dial routed', { target: formatTarget(target), agent: chosen.agent.id, reason: chosen.reason as RouteReason });
      return stream;
    }).then(
      (stream) => {
        dialSeconds.observe((performance.now() - t0) / 1000);
        return stream;
      },
      (err: unknown) => {
        dialFailures.inc({ code: isAbortError(err) ? 'ABORT_ERR' : SpokeError.from(err).code });
        throw err;
      },
    );
  };

  // ---- HTTP server: health, metrics, upgrades --------------------------------------

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = agents.size > 0;
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? `ok: ${agents.size} agent(s)\n` : 'no agent connected\n');
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('spoke hub: agents connect to /v1/agent, clients to /v1/client\n');
    }
  };
  const server: Server = options.insecurePlaintext
    ? http.createServer(onRequest)
    : https.createServer(
        {
          cert: tlsMaterial?.cert,
          key: tlsMaterial?.key,
          ...(options.clientCa !== undefined ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
          minVersion: 'TLSv1.2',
        },
        onRequest,
      );
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: frameLimit(sessionDefaults.maxFrame ?? 64 * 1024),
  });

  const authenticated = (req: http.IncomingMessage, tokens: readonly string[]): boolean => {
    const tlsSocket = req.socket as TLSSocket;
    if (options.clientCa !== undefined && tlsSocket.authorized === true) return true;
    return tokenMatches(bearerToken(req.headers.authorization), tokens);
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0];
    const role = path === '/v1/agent' ? 'agent' : path === '/v1/client' ? 'client' : undefined;
    socket.on('error', () => {});
    if (role === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!authenticated(req, role === 'agent' ? agentTokens : clientTokens)) {
      authFailures.inc({ role });
      // Say who and why, never what they presented.
      log.warn(`refused ${role}: missing or wrong credentials`, {
        remote: peerOf(req),
        presented: req.headers.authorization ? 'bearer token' : 'nothing',
      });
      socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => (role === 'agent' ? acceptAgent(ws, req) : acceptClient(ws, req)));
  });

  // Every hub session: the hub responds, announces itself (HA) and applies the session limits.
  const hubSession = (ws: WebSocket, label: string, hooks: Pick<SessionOptions, 'onHello' | 'onDial'>): Session =>
    sessionOverWebSocket(ws, { ...sessionDefaults, role: 'responder', id, extensions: { hubId: id, hubCount }, ...hooks }, label);

  const acceptAgent = (ws: WebSocket, req: http.IncomingMessage): void => {
    const remote = peerOf(req);
    let identifiers: AgentIdentifiers | undefined;
    const session = hubSession(ws, `agent ${remote}`, {
      onHello: (peer) => {
        if (peer.id === '') throw new SpokeError('ERR_PROTOCOL', 'An agent must announce an id (spoke agent --id).');
        identifiers = parseIdentifiers(peer.identifiers);
      },
      onDial: () => {
        throw new SpokeError('ERR_DIAL_DENIED', 'The hub does not accept dials from agents.');
      },
    });
    session.once('open', (peer: { id: string; identifiers: string }) => {
      const key = `${peer.id}#${randomUUID()}`;
      const entry: AgentEntry = {
        key,
        id: peer.id,
        identifiers: identifiers as AgentIdentifiers,
        rawIdentifiers: peer.identifiers,
        session,
        remote,
        connectedAt: new Date(),
        get draining() {
          return session.state === 'draining';
        },
        get load() {
          return session.stats.streams;
        },
      };
      // The same agent id reconnecting replaces its older session, which drains.
      for (const old of agents.values()) {
        if (old.id === peer.id) {
          agents.delete(old.key);
          void old.session.close();
        }
      }
      agents.set(key, entry);
      log.info('agent connected', { agent: peer.id, identifiers: peer.identifiers, remote });
      events.emit('agents');
      session.once('close', (err?: SpokeError) => {
        agents.delete(key);
        const s = session.stats;
        bytes.inc({ direction: 'in' }, s.bytesIn);
        bytes.inc({ direction: 'out' }, s.bytesOut);
        log.info('agent disconnected', { agent: peer.id, remote, reason: err?.code ?? 'closed' });
        events.emit('agents');
      });
      session.on('goaway', () => log.info('agent draining', { agent: peer.id }));
    });
    session.once('close', (err?: SpokeError) => {
      if (err && identifiers === undefined) log.warn('agent handshake failed', { remote, code: err.code });
    });
  };

  const acceptClient = (ws: WebSocket, req: http.IncomingMessage): void => {
    const remote = peerOf(req);
    let pinnedAgent: string | undefined;
    const session = hubSession(ws, `client ${remote}`, {
      onHello: (peer) => {
        const agent = peer.extensions?.['agent'];
        if (typeof agent === 'string' && agent !== '') pinnedAgent = agent;
      },
      onDial: (target, info) => dial(target, { signal: info.signal }, pinnedAgent),
    });
    clients.add(session);
    session.once('close', () => clients.delete(session));
  };

  server.listen(listen.port, listen.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const hostForUrl = isIP(address.address) === 6 ? `[${address.address}]` : address.address;
  const url = `${options.insecurePlaintext ? 'ws' : 'wss'}://${hostForUrl}:${address.port}`;
  if (options.insecurePlaintext) log.warn('serving plain ws:// without TLS (--insecure-plaintext): use only for local tests', { url });

  // ---- HTTP CONNECT front end --------------------------------------------------------

  let connectServer: http.Server | undefined;
  let connectAddress: string | undefined;
  if (options.connect) {
    const viaUnix = 'path' in options.connect;
    connectServer = http.createServer((_req, res) =>
      res.writeHead(405, { 'content-type': 'text/plain' }).end('spoke hub: use CONNECT host:port\n'),
    );
    connectServer.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      const answer = (status: number, text: string, code?: string): void => {
        const body = `${text}\n`;
        socket.end(
          `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
            (status === 407 ? 'Proxy-Authenticate: Bearer\r\n' : '') +
            (code ? `X-Spoke-Error-Code: ${code}\r\n` : '') +
            `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      };
      if (!viaUnix && !tokenMatches(bearerToken(req.headers['proxy-authorization']), clientTokens)) {
        authFailures.inc({ role: 'connect' });
        log.warn('refused CONNECT: missing or wrong Proxy-Authorization', { remote: peerOf(req) });
        answer(407, 'spoke hub: Proxy-Authorization: Bearer <client token> required');
        return;
      }
      // A client that goes away while we dial cancels the dial (and whatever the agent had opened).
      const gone = new AbortController();
      const onGone = (): void => gone.abort(new SpokeError('ERR_STREAM_RESET', 'The CONNECT client went away.'));
      // Keep reading while we dial: only a reading socket notices the client's FIN or RST (a FIN
      // before the 200 means the client gave up). What a client sends early is held (bounded:
      // then we stop reading) and goes first.
      const early: Buffer[] = head.length > 0 ? [head] : [];
      let earlyBytes = head.length;
      const onData = (chunk: Buffer): void => {
        early.push(chunk);
        earlyBytes += chunk.length;
        if (earlyBytes > 256 * 1024) socket.pause();
      };
      socket.on('data', onData);
      socket.once('end', onGone);
      socket.once('close', onGone);
      dial(req.url ?? '', { signal: gone.signal }).then(
        (stream) => {
          socket.off('data', onData);
          socket.off('end', onGone);
          socket.off('close', onGone);
          socket.pause();
          socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
          for (const chunk of early) stream.write(chunk);
          splice(socket, stream);
          socket.resume();
        },
        (err: unknown) => {
          // The client left (or half-closed before the tunnel existed): nothing to answer.
          if (gone.signal.aborted) {
            socket.destroy();
            return;
          }
          const e = SpokeError.from(err);
          const status =
            e.code === 'ERR_BAD_TARGET'
              ? 400
              : e.code === 'ERR_DIAL_DENIED'
                ? 403
                : e.code === 'ERR_NO_ROUTE'
                  ? 503
                  : e.code === 'ERR_DIAL_TIMEOUT'
                    ? 504
                    : 502;
          answer(status, `spoke hub: ${e.code}: ${e.message}`, e.code);
        },
      );
    });
    if ('path' in options.connect) connectServer.listen(options.connect.path);
    else connectServer.listen(options.connect.port, options.connect.host);
    await once(connectServer, 'listening');
    const ca = connectServer.address();
    connectAddress =
      typeof ca === 'string' ? `unix:${ca}` : ca ? `${isIP(ca.address) === 6 ? `[${ca.address}]` : ca.address}:${ca.port}` : undefined;
  }

  log.info('hub listening', { url, fingerprint, connect: connectAddress, id });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  const hub: Hub = {
    id,
    url,
    fingerprint,
    certificate: tlsMaterial ? String(tlsMaterial.cert) : undefined,
    connectAddress,
    dial: (t, o) => dial(t, o),
    dialer: () => {
      let closed = false;
      return {
        kind: 'hub',
        dial: (t, o) =>
          closed
            ? Promise.reject(
                new SpokeError('ERR_DIALER_CLOSED', 'This hub dialer was closed; take a new one from hub.dialer().', { hop: 'hub' }),
              )
            : dial(t, o),
        // Closing a view of the hub does not stop the hub (hub.close() does).
        close: async () => {
          closed = true;
        },
      };
    },
    agents: () =>
      [...agents.values()].map((a) => ({
        id: a.id,
        identifiers: a.rawIdentifiers,
        remote: a.remote,
        streams: a.load,
        draining: a.draining,
        connectedAt: a.connectedAt,
      })),
    metrics: () => metrics.render(),
    async waitForAgents(n, o = {}) {
      while (agents.size < n) {
        o.signal?.throwIfAborted();
        await once(events, 'agents', o.signal ? { signal: o.signal } : {});
      }
    },
    async close() {
      connectServer?.close();
      server.close();
      const all = [...[...agents.values()].map((a) => a.session), ...clients];
      await Promise.all(all.map((s) => s.close()));
      for (const s of sockets) s.destroy();
      connectServer?.closeAllConnections();
    },
    destroy() {
      for (const a of agents.values()) a.session.destroy();
      for (const c of clients) c.destroy();
      for (const s of sockets) s.destroy();
      server.close();
      connectServer?.close();
      connectServer?.closeAllConnections();
    },
  };
  return hub;
}
