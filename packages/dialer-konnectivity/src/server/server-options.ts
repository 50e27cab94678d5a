import { randomUUID } from 'node:crypto';
import { SpokeError } from '@spoke/transport-core';
import { checkConnectionLimits, type ConnectionLimits } from '../grpc/connection-gate.js';
import { PROXY_STRATEGIES, type ProxyStrategy } from './backends.js';
import type { TokenReviewOptions } from './token-review.js';

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
  /**
   * spoke: start with no agent authentication at all (no clusterCaCert, agentTokens or tokenReview), so that any
   * peer that reaches the agent port can register as an agent and receive the traffic meant for the cluster.
   * Without it such a server refuses to start (`ERR_BAD_OPTION`); upstream starts silently. Warns through `warn`.
   */
  insecureAcceptAnyAgent?: boolean;
  /** spoke: streams one agent connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  agentMaxConcurrentStreams?: number;
  /** spoke: agent-port connections open at once; one more is closed on accept, before TLS. Default 1024. */
  agentMaxConnections?: number;
  /** spoke: agent-port connections open at once from one source address. Default 64. */
  agentMaxConnectionsPerAddress?: number;
  /**
   * spoke: TCP front-end connections open at once (mTLS mode; a unix socket has no cap). Default 4096: the
   * kube-apiserver opens one connection per tunnel, so the front end needs room for many from one address.
   */
  serverMaxConnections?: number;
  /** spoke: TCP front-end connections open at once from one source address. Default 1024. */
  serverMaxConnectionsPerAddress?: number;
  /**
   * spoke: a TCP connection (agent port or mTLS front end) must finish its TLS handshake and send its first
   * request (HTTP/2 preface and HEADERS, or the CONNECT head) this long after it is accepted, or it is closed.
   * Default 10000 ms.
   */
  preAuthTimeoutMs?: number;
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
  /** Receives the warning of `insecureAcceptAnyAgent`. Default: `process.emitWarning`. */
  warn?: (message: string) => void;
}

/** The options a server runs with: checked, with upstream's defaults filled in where several parts read them. */
export interface ServerSettings {
  readonly options: KonnectivityServerOptions;
  readonly mode: 'grpc' | 'http-connect';
  readonly strategies: readonly ProxyStrategy[];
  readonly serverId: string;
  readonly serverCount: number;
  readonly log: (message: string) => void;
  /** Connection caps and pre-auth deadline of the agent port. */
  readonly agentLimits: ConnectionLimits;
  /** Connection caps and pre-auth deadline of the TCP front end. */
  readonly frontEndLimits: ConnectionLimits;
}

/** Checks the option combinations upstream's proxy-server refuses, and fills in the defaults. */
export function serverSettings(options: KonnectivityServerOptions): ServerSettings {
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
  checkAgentAuthentication(options);
  if (
    options.udsName === undefined &&
    (options.serverCert === undefined || options.serverKey === undefined || options.serverCaCert === undefined)
  ) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      'A TCP front end needs serverCert, serverKey and serverCaCert (mTLS), or give udsName for a unix socket.',
    );
  }
  const preAuthTimeoutMs = options.preAuthTimeoutMs ?? 10_000;
  const agentLimits = connectionLimits(
    'agent',
    [options.agentMaxConnections ?? 1024, options.agentMaxConnectionsPerAddress ?? 64],
    preAuthTimeoutMs,
  );
  const frontEndLimits = connectionLimits(
    'server',
    [options.serverMaxConnections ?? 4096, options.serverMaxConnectionsPerAddress ?? 1024],
    preAuthTimeoutMs,
  );
  return {
    options,
    agentLimits,
    frontEndLimits,
    mode: options.mode ?? 'grpc',
    strategies,
    serverId: options.serverId ?? process.env.PROXY_SERVER_ID ?? randomUUID(),
    serverCount: options.serverCount ?? 1,
    log: options.log ?? (() => {}),
  };
}

/** The warning a server without agent authentication starts with. */
export const INSECURE_AGENTS_WARNING =
  'insecureAcceptAnyAgent (--insecure-accept-any-agent): the agent port authenticates nobody; anyone who can reach it can ' +
  'register as an agent and receive the connections meant for cluster nodes. Use only for tests.';

/** A server must authenticate its agents unless told, in so many words, not to. */
function checkAgentAuthentication(options: KonnectivityServerOptions): void {
  if (options.agentTokens?.some((t) => t === '')) throw new SpokeError('ERR_BAD_OPTION', 'agentTokens contains an empty token.');
  const authenticated = options.clusterCaCert !== undefined || (options.agentTokens?.length ?? 0) > 0 || options.tokenReview !== undefined;
  if (authenticated && options.insecureAcceptAnyAgent === true) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      'insecureAcceptAnyAgent contradicts the agent authentication given (clusterCaCert, agentTokens or tokenReview); drop one.',
    );
  }
  if (authenticated) return;
  if (options.insecureAcceptAnyAgent !== true) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      'The agent port would accept any agent: give clusterCaCert (--cluster-ca-cert), agentTokens (--agent-token-file) or ' +
        'tokenReview (--agent-namespace ...), or insecureAcceptAnyAgent (--insecure-accept-any-agent) for tests.',
    );
  }
  (options.warn ?? ((m: string) => process.emitWarning(m, { code: 'SPOKE_INSECURE_ACCEPT_ANY_AGENT' })))(INSECURE_AGENTS_WARNING);
}

/** The checked caps of one listener; `prefix` names its options in errors. */
function connectionLimits(
  prefix: 'agent' | 'server',
  [maxConnections, maxConnectionsPerAddress]: [number, number],
  preAuthTimeoutMs: number,
): ConnectionLimits {
  const limits = { maxConnections, maxConnectionsPerAddress, preAuthTimeoutMs };
  checkConnectionLimits(limits, {
    maxConnections: `${prefix}MaxConnections`,
    maxConnectionsPerAddress: `${prefix}MaxConnectionsPerAddress`,
    preAuthTimeoutMs: 'preAuthTimeoutMs',
  });
  return limits;
}
