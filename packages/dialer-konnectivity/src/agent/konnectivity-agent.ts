import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { SpokeError, createAllowList, parseAgentIdentifiers } from '@spoke/transport-core';
import { fromGrpcError } from '../errors.js';
import { startAgentHealth } from './agent-health.js';
import { openAgentCall, type OpenedAgentCall } from './agent-call.js';
import { AgentSession } from './agent-session.js';

/** Options of {@link createKonnectivityAgent}; names follow upstream proxy-agent's flags. */
export interface KonnectivityAgentOptions {
  /** `--proxy-server-host`. Default `127.0.0.1`. */
  proxyServerHost?: string;
  /** `--proxy-server-port`. Default 8091. */
  proxyServerPort?: number;
  /** `--ca-cert`: PEM CA bundle for the server certificate. Default: the system store. */
  caCert?: string | Buffer;
  /** `--agent-cert` / `--agent-key`: PEM client certificate and key (mTLS). */
  agentCert?: string | Buffer;
  agentKey?: string | Buffer;
  /** `--agent-id`. Default env `PROXY_AGENT_ID`, else a random UUID. */
  agentId?: string;
  /** `--agent-identifiers`, e.g. `host=node1&ipv4=10.0.0.5&default-route=true`. */
  agentIdentifiers?: string;
  /** `--service-account-token-path`: bearer token file, re-read on every connect. */
  serviceAccountTokenPath?: string;
  /** `--sync-interval`. Default 1000 ms. */
  syncIntervalMs?: number;
  /** `--sync-interval-cap`. Default 10000 ms. */
  syncIntervalCapMs?: number;
  /** `--sync-forever`: keep dialling for new servers even when `servercount` is reached. Default false. */
  syncForever?: boolean;
  /** `--keepalive-time`. Default 1 h; never below 30 s (upstream servers GOAWAY faster pings). */
  keepaliveTimeMs?: number;
  /** Destination dial timeout. Default 5000 ms (upstream's). */
  dialTimeoutMs?: number;
  /** spoke only: allowed destinations, `CIDR[:PORT[-PORT]]` / `HOST[:PORT[-PORT]]`. Default: everything. */
  allow?: readonly string[];
  /** spoke only: bytes queued to one destination before it counts as stalled. Default 4 MiB. */
  maxQueuedBytes?: number;
  /** spoke only: a stalled destination is closed alone after this long. Default 30000 ms. */
  stallTimeoutMs?: number;
  /** `--health-server-port` (`/healthz`, `/readyz`, `/metrics`). Default: no health server (the CLI uses 8093). */
  healthServerPort?: number;
  /** `--health-server-host`. Default: all interfaces. */
  healthServerHost?: string;
  /** Log sink (never receives secrets). Default: none. */
  log?: (message: string) => void;
}

/** A running agent. Emits `server` (serverId) when a server stream opens and `server-lost` when one ends. */
export interface KonnectivityAgent extends EventEmitter {
  /** This agent's id. */
  readonly agentId: string;
  /** Resolves with the bound health port once it listens (undefined without `healthServerPort`). */
  readonly health: Promise<number | undefined>;
  /** Ids of the servers this agent holds a stream to. */
  servers(): string[];
  /** The last `servercount` a server announced (1 before any). */
  readonly serverCount: number;
  /** Graceful: sends DRAIN, stops connecting, waits for open connections (up to `timeoutMs`, default 30 s), then closes. */
  close(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** Immediate: closes every stream and connection. */
  destroy(): void;
}

const MIN_KEEPALIVE_MS = 30_000;
/** How long a server may take to answer the Connect stream (token review included). */
const HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * Starts a Konnectivity agent: it dials out to a proxy-server's agent port
 * over TLS (`/AgentService/Connect`), keeps streams to `servercount` distinct
 * servers behind that address, and serves their dials to TCP destinations.
 * Wire-compatible with upstream proxy-server.
 */
export function createKonnectivityAgent(options: KonnectivityAgentOptions = {}): KonnectivityAgent {
  const host = options.proxyServerHost ?? '127.0.0.1';
  const port = options.proxyServerPort ?? 8091;
  const agentId = options.agentId ?? process.env.PROXY_AGENT_ID ?? randomUUID();
  const identifiers = options.agentIdentifiers ?? '';
  parseAgentIdentifiers(identifiers, { strict: true }); // validate at startup, as upstream does
  // Upstream's agent dials anything it reaches; an allow list is spoke's optional restriction.
  const allow = options.allow && options.allow.length > 0 ? createAllowList(options.allow).allows : () => true;
  const syncInterval = options.syncIntervalMs ?? 1000;
  const syncCap = options.syncIntervalCapMs ?? 10_000;
  const keepalive = Math.max(MIN_KEEPALIVE_MS, options.keepaliveTimeMs ?? 3_600_000);
  const log = options.log ?? (() => {});
  if ((options.agentCert === undefined) !== (options.agentKey === undefined)) {
    throw new SpokeError('ERR_BAD_OPTION', 'Give both agentCert and agentKey (--agent-cert/--agent-key) for mTLS, or neither.');
  }
  const where = `${host}:${port}`;
  const sessions = new Map<string, AgentSession>();
  const emitter = new EventEmitter();
  let serverCount = 1;
  let stopped = false;
  let draining = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;

  const metadata = (): Record<string, string> => ({
    agentid: agentId,
    agentidentifiers: identifiers,
    // Re-read on every connect so rotated projected tokens are picked up.
    ...(options.serviceAccountTokenPath ? { authorization: `Bearer ${readFileSync(options.serviceAccountTokenPath, 'utf8').trim()}` } : {}),
  });

  /** One connection attempt; resolves to 'new' | 'duplicate'. */
  const connectOnce = async (): Promise<'new' | 'duplicate'> => {
    let opened: OpenedAgentCall;
    try {
      opened = await openAgentCall({
        host,
        port,
        ca: options.caCert,
        cert: options.agentCert,
        key: options.agentKey,
        metadata: metadata(),
        keepaliveTimeMs: keepalive,
        handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      });
    } catch (err) {
      throw fromGrpcError(err, where);
    }
    const { call } = opened;
    const ids = opened.metadata('serverid');
    const counts = opened.metadata('servercount');
    if (ids.length !== 1 || counts.length !== 1) {
      call.cancel();
      throw new SpokeError(
        'ERR_PROTOCOL',
        `${where} sent ${ids.length} serverid and ${counts.length} servercount headers (need exactly one each). Is it a Konnectivity proxy-server?`,
      );
    }
    const serverId = ids[0] as string;
    const count = Number(counts[0]);
    if (Number.isInteger(count) && count > 0) serverCount = count;
    if (sessions.has(serverId) || stopped || draining) {
      call.cancel();
      return 'duplicate';
    }
    const session = new AgentSession({
      call,
      serverId,
      allow,
      dialTimeoutMs: options.dialTimeoutMs ?? 5000,
      maxQueuedBytes: options.maxQueuedBytes ?? 4 * 1024 * 1024,
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      log,
      onClose: (s, err) => {
        if (sessions.get(s.serverId) === s) sessions.delete(s.serverId);
        log(`stream to server ${s.serverId} ended${err ? `: ${err.message}` : ''}`);
        emitter.emit('server-lost', s.serverId);
        if (!stopped) schedule(syncInterval);
      },
    });
    sessions.set(serverId, session);
    log(`connected to server ${serverId} (servercount ${serverCount})`);
    emitter.emit('server', serverId);
    return 'new';
  };

  const jitter = (ms: number): number => ms * (0.9 + Math.random() * 0.2);

  const sync = async (): Promise<void> => {
    timer = undefined;
    if (stopped || draining) return;
    if (sessions.size >= serverCount && !options.syncForever) {
      schedule(syncInterval);
      return;
    }
    try {
      const r = await connectOnce();
      failures = 0;
      schedule(r === 'new' && sessions.size < serverCount ? 0 : syncInterval);
    } catch (err) {
      failures++;
      log(`connecting to ${where} failed: ${(err as Error).message}`);
      schedule(Math.min(syncCap, syncInterval * 1.5 ** failures));
    }
  };

  function schedule(ms: number): void {
    if (stopped || draining || timer) return;
    timer = setTimeout(() => void sync(), ms === 0 ? 0 : jitter(ms));
  }

  const stopAll = (): void => {
    stopped = true;
    void healthStarted.then(
      (h) => h?.close(),
      () => {},
    );
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const s of [...sessions.values()]) s.close();
    sessions.clear();
  };

  schedule(0);

  const healthStarted =
    options.healthServerPort === undefined
      ? Promise.resolve(undefined)
      : startAgentHealth(options.healthServerPort, options.healthServerHost, {
          servers: () => sessions.size,
          serverCount: () => serverCount,
          connections: () => [...sessions.values()].reduce((n, s) => n + s.connections, 0),
        });
  healthStarted.catch((err: unknown) => log(`health server failed: ${(err as Error).message}`));

  const close = async (closeOptions: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> => {
    if (stopped) return;
    draining = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const s of sessions.values()) s.drain();
    const deadline = Date.now() + (closeOptions.timeoutMs ?? 30_000);
    // Connections carry no "idle" event; poll their count until they are gone or time is up.
    while ([...sessions.values()].some((s) => s.connections > 0) && Date.now() < deadline && !closeOptions.signal?.aborted) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stopAll();
  };
  return Object.defineProperties(emitter, {
    agentId: { value: agentId, enumerable: true },
    health: {
      value: healthStarted.then(
        (h) => h?.port,
        () => undefined,
      ),
    },
    serverCount: { get: () => serverCount, enumerable: true },
    servers: { value: () => [...sessions.keys()] },
    close: { value: close },
    destroy: { value: stopAll },
  }) as KonnectivityAgent;
}
