import { randomUUID } from 'node:crypto';
import { SpokeError } from '@spoke/transport-core';
import { createAllowList, parseAgentIdentifiers } from '@spoke/transport-core/utils';

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
  /**
   * `--admin-server-port`: `/metrics` (and `/healthz`) on a second port, as upstream's admin server (its
   * `/debug/pprof` is Go-only). Default: none (upstream listens on 8094 unless told otherwise).
   */
  adminServerPort?: number;
  /** `--admin-bind-address`. Default 127.0.0.1 (upstream's). */
  adminBindAddress?: string;
  /** Log sink (never receives secrets). Default: none. */
  log?: (message: string) => void;
}

/** The options an agent runs with: checked, with upstream's defaults filled in. */
export interface AgentSettings {
  readonly options: KonnectivityAgentOptions;
  readonly host: string;
  readonly port: number;
  /** `host:port`, for messages. */
  readonly where: string;
  readonly agentId: string;
  /** As given, sent to each server in the `agentidentifiers` metadata. */
  readonly identifiers: string;
  /** Whether a destination may be dialled. */
  readonly allow: (host: string, port: number) => boolean;
  readonly syncIntervalMs: number;
  readonly syncIntervalCapMs: number;
  readonly keepaliveTimeMs: number;
  readonly log: (message: string) => void;
}

const MIN_KEEPALIVE_MS = 30_000;

/** Checks what upstream's agent checks at startup (identifiers, cert/key pairing) and fills in the defaults. */
export function agentSettings(options: KonnectivityAgentOptions): AgentSettings {
  const host = options.proxyServerHost ?? '127.0.0.1';
  const port = options.proxyServerPort ?? 8091;
  const identifiers = options.agentIdentifiers ?? '';
  parseAgentIdentifiers(identifiers, { strict: true });
  if ((options.agentCert === undefined) !== (options.agentKey === undefined)) {
    throw new SpokeError('ERR_BAD_OPTION', 'Give both agentCert and agentKey (--agent-cert/--agent-key) for mTLS, or neither.');
  }
  // Upstream's agent dials anything it reaches; an allow list is spoke's optional restriction.
  const list = options.allow && options.allow.length > 0 ? createAllowList(options.allow) : undefined;
  return {
    options,
    host,
    port,
    where: `${host}:${port}`,
    agentId: options.agentId ?? process.env.PROXY_AGENT_ID ?? randomUUID(),
    identifiers,
    allow: list === undefined ? () => true : (h, p) => list.allows(h, p),
    syncIntervalMs: options.syncIntervalMs ?? 1000,
    syncIntervalCapMs: options.syncIntervalCapMs ?? 10_000,
    keepaliveTimeMs: Math.max(MIN_KEEPALIVE_MS, options.keepaliveTimeMs ?? 3_600_000),
    log: options.log ?? (() => {}),
  };
}
