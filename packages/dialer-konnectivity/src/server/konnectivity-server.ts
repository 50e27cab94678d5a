import { randomUUID, timingSafeEqual } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { SpokeError, parseAgentIdentifiers } from '@spoke/transport-core';
import { GrpcCode } from '../grpc/grpc-message.js';
import { BackendManager, agentCidrs, PROXY_STRATEGIES, type Backend, type ProxyStrategy } from './backends.js';
import { serveGrpcFrontend } from './grpc-frontend.js';
import { GrpcServer } from '../grpc/grpc-server.js';
import { serveHttpFrontend } from './http-frontend.js';
import { ServerMetrics } from './metrics.js';
import type { PacketCall } from '../grpc/packet-call.js';
import { createTokenReviewer, type TokenReviewOptions } from './token-review.js';
import { TunnelCore } from './tunnel-core.js';

/** Options of {@link createKonnectivityServer}; names follow upstream proxy-server's flags. */
export interface KonnectivityServerOptions {
  /** `--mode`: front-end protocol. Default `grpc`. */
  mode?: 'grpc' | 'http-connect';
  /** `--uds-name`: front end on this unix socket (no TLS), else TCP on serverPort with mTLS. */
  udsName?: string;
  /** `--delete-existing-uds-file`. Default true. */
  deleteExistingUdsFile?: boolean;
  /** `--server-port` / `--server-bind-address`. Default 8090 / all interfaces. 0 picks a free port. */
  serverPort?: number;
  serverBindAddress?: string;
  /** `--server-cert`, `--server-key`, `--server-ca-cert` (PEM contents): front-end mTLS. */
  serverCert?: string | Buffer;
  serverKey?: string | Buffer;
  serverCaCert?: string | Buffer;
  /** `--agent-port` / `--agent-bind-address`. Default 8091 / all interfaces. */
  agentPort?: number;
  agentBindAddress?: string;
  /** `--cluster-cert`, `--cluster-key` (required), `--cluster-ca-cert` (mTLS for agents). */
  clusterCert: string | Buffer;
  clusterKey: string | Buffer;
  clusterCaCert?: string | Buffer;
  /** spoke: static bearer tokens accepted from agents (instead of TokenReview). Exclusive with clusterCaCert. */
  agentTokens?: readonly string[];
  /**
   * Agent bearer tokens checked by a Kubernetes TokenReview (upstream's `--kubeconfig`, `--agent-namespace`,
   * `--agent-service-account`, `--authentication-audience`). Exclusive with clusterCaCert and agentTokens.
   */
  tokenReview?: TokenReviewOptions;
  /** `--health-port` / `--health-bind-address`. Default 8092 / all. `false` disables it. */
  healthPort?: number | false;
  healthBindAddress?: string;
  /**
   * `--admin-port` / `--admin-bind-address`: `/metrics` as upstream's admin port serves it
   * (`/debug/pprof` is Go-only and answers 404). Default: off; bind address 127.0.0.1.
   */
  adminPort?: number | false;
  adminBindAddress?: string;
  /** `--server-id`. Default env `PROXY_SERVER_ID`, else a UUID. */
  serverId?: string;
  /** `--server-count`. Default 1. */
  serverCount?: number;
  /** `--proxy-strategies`. Default `['default']`. */
  proxyStrategies?: readonly ProxyStrategy[];
  /** `--keepalive-time` for agent connections. Default 1 h. */
  keepaliveTimeMs?: number;
  /** `--backend-dial-timeout`. Default 0 (none). */
  backendDialTimeoutMs?: number;
  /** spoke: bytes queued towards one front end above which it counts as stalled. Default 4 MiB. */
  maxFrontendQueue?: number;
  /** spoke: a stalled front end is closed alone after this long. Default 30000 ms. */
  frontendStallTimeoutMs?: number;
  /** Log sink. */
  log?: (message: string) => void;
}

/** A running Konnectivity server. */
export interface KonnectivityServer {
  /** Bound ports (useful with port 0). */
  readonly ports: { server?: number; agent: number; health?: number; admin?: number };
  readonly serverId: string;
  /** Number of connected agent streams. */
  readonly agents: number;
  /** Prometheus text of the server metrics (also on /metrics). */
  metrics(): string;
  /** Stops accepting, ends streams gracefully. */
  close(): Promise<void>;
  /** Stops at once. */
  destroy(): void;
}

/**
 * Starts a Konnectivity proxy-server that upstream agents and clients (and
 * ours) can use: a front end (gRPC ProxyService or HTTP CONNECT, on a unix
 * socket or mTLS TCP), the AgentService over TLS, and /healthz, /readyz,
 * /metrics.
 */
export async function createKonnectivityServer(options: KonnectivityServerOptions): Promise<KonnectivityServer> {
  const mode = options.mode ?? 'grpc';
  const strategies = options.proxyStrategies ?? ['default'];
  for (const s of strategies) {
    if (!PROXY_STRATEGIES.includes(s))
      throw new SpokeError('ERR_BAD_OPTION', `Unknown proxy strategy ${JSON.stringify(s)}; use ${PROXY_STRATEGIES.join(', ')}.`);
  }
  if (options.clusterCaCert !== undefined && options.agentTokens !== undefined) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      "clusterCaCert (agent mTLS) and agentTokens (token auth) are exclusive, as upstream's --cluster-ca-cert and token auth are.",
    );
  }
  if (options.tokenReview !== undefined && (options.clusterCaCert !== undefined || options.agentTokens !== undefined)) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      'tokenReview excludes clusterCaCert and agentTokens: upstream rejects --cluster-ca-cert when agent token authentication is on.',
    );
  }
  if (
    options.udsName === undefined &&
    (options.serverCert === undefined || options.serverKey === undefined || options.serverCaCert === undefined)
  ) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      'A TCP front end needs serverCert, serverKey and serverCaCert (mTLS), or give udsName for a unix socket.',
    );
  }
  const serverId = options.serverId ?? process.env.PROXY_SERVER_ID ?? randomUUID();
  const serverCount = options.serverCount ?? 1;
  const log = options.log ?? (() => {});
  const metrics = new ServerMetrics();
  const backends = new BackendManager(strategies);
  const core = new TunnelCore({
    backends,
    metrics,
    backendDialTimeoutMs: options.backendDialTimeoutMs ?? 0,
    maxFrontendQueue: options.maxFrontendQueue ?? 4 * 1024 * 1024,
    frontendStallTimeoutMs: options.frontendStallTimeoutMs ?? 30_000,
    log,
  });
  const tokens = (options.agentTokens ?? []).map((t) => Buffer.from(`Bearer ${t}`));
  const review = options.tokenReview === undefined ? undefined : createTokenReviewer(options.tokenReview);
  const reviews = new Set<AbortController>();

  // ---- agent server -------------------------------------------------------
  const connect = (call: PacketCall): void => {
    const ids = call.metadata('agentid');
    const idents = call.metadata('agentidentifiers');
    const auth = call.metadata('authorization');
    const reject = (code: GrpcCode, details: string): void => call.end(code, details);
    if (ids.length !== 1) return reject(GrpcCode.INVALID_ARGUMENT, `expected exactly 1 agentid, got ${ids.length}`);
    if (idents.length > 1) return reject(GrpcCode.INVALID_ARGUMENT, `expected at most 1 agentidentifiers, got ${idents.length}`);
    const agentId = ids[0] as string;
    if (tokens.length > 0) {
      const given = auth.length === 1 ? Buffer.from(auth[0] as string) : Buffer.alloc(0);
      if (!tokens.some((t) => t.length === given.length && timingSafeEqual(t, given))) {
        metrics.agentAuthFailures++;
        log(`agent ${agentId} refused: token not in agentTokens`);
        return reject(GrpcCode.UNAUTHENTICATED, 'agent token rejected');
      }
    }
    if (review === undefined) return accept(call, agentId, idents[0] ?? '');
    // Upstream reviews before sending headers; the agent waits for them, so nothing arrives meanwhile.
    const stop = new AbortController();
    reviews.add(stop);
    call.once('close', () => stop.abort(new Error('agent went away')));
    void review(auth, stop.signal).then((outcome) => {
      reviews.delete(stop);
      if (call.cancelled || stop.signal.aborted) return;
      if (outcome.ok) return accept(call, agentId, idents[0] ?? '');
      metrics.agentAuthFailures++;
      log(`agent ${agentId} refused: ${outcome.reason}`);
      if (outcome.unavailable) reject(GrpcCode.UNAVAILABLE, 'agent token review unavailable; retry later');
      else reject(GrpcCode.UNAUTHENTICATED, 'agent token rejected');
    });
    return undefined;
  };
  /** Registers an authenticated agent stream as a backend and sends it serverid/servercount. */
  function accept(call: PacketCall, agentId: string, idents: string): void {
    const identifiers = parseAgentIdentifiers(idents, { strict: false });
    const backend: Backend = { agentId, identifiers, call, draining: false, cidrs: agentCidrs(identifiers.cidr) };
    call.sendHeaders({ serverid: serverId, servercount: String(serverCount) });
    backends.add(backend);
    metrics.grpc('Connect', 1);
    log(`agent ${backend.agentId} connected`);
    let gone = false;
    const onGone = (): void => {
      if (gone) return;
      gone = true;
      backends.remove(backend);
      metrics.grpc('Connect', -1);
      core.backendGone(backend);
      log(`agent ${backend.agentId} disconnected`);
      if (!call.writableEnded) call.end();
    };
    call.on('data', (p) => core.fromAgent(backend, p));
    call.on('end', onGone);
    call.on('close', onGone);
  }
  const agentServer = new GrpcServer({
    tls: {
      cert: options.clusterCert,
      key: options.clusterKey,
      ...(options.clusterCaCert !== undefined ? { ca: options.clusterCaCert } : {}),
      requestCert: options.clusterCaCert !== undefined,
    },
    routes: { '/AgentService/Connect': connect },
    keepaliveTimeMs: options.keepaliveTimeMs ?? 3_600_000,
  });
  const agentPort = (await agentServer.listen({ port: options.agentPort ?? 8091, host: options.agentBindAddress })) ?? 0;

  // ---- front end -------------------------------------------------------------
  let frontGrpc: GrpcServer | undefined;
  let frontNet: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  let serverPort: number | undefined;
  if (options.udsName !== undefined && (options.deleteExistingUdsFile ?? true)) {
    try {
      unlinkSync(options.udsName);
    } catch {
      // absent is fine
    }
  }
  if (mode === 'grpc') {
    const routes = {
      '/ProxyService/Proxy': (call: PacketCall) => {
        metrics.grpc('Proxy', 1);
        serveGrpcFrontend(call, core, () => metrics.grpc('Proxy', -1));
      },
    };
    if (options.udsName !== undefined) {
      frontGrpc = new GrpcServer({ routes });
      await frontGrpc.listen({ path: options.udsName });
    } else {
      frontGrpc = new GrpcServer({
        routes,
        tls: {
          cert: options.serverCert as string | Buffer,
          key: options.serverKey as string | Buffer,
          ca: options.serverCaCert as string | Buffer,
          requestCert: true,
        },
      });
      serverPort = await frontGrpc.listen({ port: options.serverPort ?? 8090, host: options.serverBindAddress });
    }
  } else {
    const onSocket = (socket: net.Socket): void => {
      sockets.add(socket);
      metrics.httpConnections++;
      serveHttpFrontend(socket, core, () => {
        sockets.delete(socket);
        metrics.httpConnections--;
      });
    };
    frontNet =
      options.udsName !== undefined
        ? net.createServer({ allowHalfOpen: true }, onSocket)
        : tls.createServer(
            {
              cert: options.serverCert,
              key: options.serverKey,
              ca: options.serverCaCert,
              requestCert: true,
              rejectUnauthorized: true,
              minVersion: 'TLSv1.2',
              allowHalfOpen: true,
            },
            onSocket,
          );
    await new Promise<void>((resolve, reject) => {
      frontNet?.once('error', reject);
      if (options.udsName !== undefined) frontNet?.listen(options.udsName, resolve);
      else
        frontNet?.listen(
          { port: options.serverPort ?? 8090, ...(options.serverBindAddress ? { host: options.serverBindAddress } : {}) },
          resolve,
        );
    });
    if (options.udsName === undefined) serverPort = (frontNet.address() as AddressInfo).port;
  }

  // ---- health ------------------------------------------------------------------
  const readyBackends = (): Record<string, number> => Object.fromEntries(strategies.map((s) => [s, backends.count(s)]));
  const renderMetrics = (): string => metrics.render(readyBackends(), backends.size);
  const sendMetrics = (res: http.ServerResponse): void => {
    res.setHeader('Content-Type', 'text/plain; version=0.0.4');
    res.end(renderMetrics());
  };
  const listenHttp = async (
    port: number,
    host: string | undefined,
    handle: (path: string, res: http.ServerResponse) => void,
  ): Promise<[http.Server, number]> => {
    const server = http.createServer((req, res) => handle((req.url ?? '/').split('?')[0] ?? '/', res));
    await new Promise<void>((resolve) => server.listen({ port, ...(host ? { host } : {}) }, resolve));
    return [server, (server.address() as AddressInfo).port];
  };
  let health: http.Server | undefined;
  let healthPort: number | undefined;
  if (options.healthPort !== false) {
    [health, healthPort] = await listenHttp(options.healthPort ?? 8092, options.healthBindAddress, (path, res) => {
      if (path === '/healthz') return void res.end('ok');
      if (path === '/readyz' || path === '/ready') {
        if (backends.ready()) return void res.end('ok');
        res.statusCode = 500;
        return void res.end('no connection to any proxy agent');
      }
      if (path === '/metrics') return sendMetrics(res);
      res.statusCode = 404;
      res.end('not found');
    });
  }
  let admin: http.Server | undefined;
  let adminPort: number | undefined;
  if (options.adminPort !== undefined && options.adminPort !== false) {
    [admin, adminPort] = await listenHttp(options.adminPort, options.adminBindAddress ?? '127.0.0.1', (path, res) => {
      if (path === '/metrics') return sendMetrics(res);
      res.statusCode = 404;
      res.end(path.startsWith('/debug/pprof') ? 'profiling is not available in this (Node.js) implementation\n' : 'not found');
    });
  }

  const stopAll = (): void => {
    for (const r of reviews) r.abort(new Error('server stopped'));
    core.dispose();
    agentServer.destroy();
    frontGrpc?.destroy();
    for (const s of sockets) s.destroy();
    frontNet?.close();
    for (const server of [health, admin]) {
      server?.close();
      server?.closeAllConnections();
    }
  };

  return {
    ports: {
      agent: agentPort,
      ...(serverPort !== undefined ? { server: serverPort } : {}),
      ...(healthPort !== undefined ? { health: healthPort } : {}),
      ...(adminPort !== undefined ? { admin: adminPort } : {}),
    },
    serverId,
    get agents() {
      return backends.size;
    },
    metrics: renderMetrics,
    async close() {
      await Promise.all([frontGrpc?.close(), new Promise<void>((r) => (frontNet ? frontNet.close(() => r()) : r()))]);
      stopAll();
    },
    destroy: stopAll,
  };
}
