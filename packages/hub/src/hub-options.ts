import { randomUUID } from 'node:crypto';
import { SpokeError, certFingerprint, isLoopbackHost, silentLogger, type Logger, type SessionOptions } from '@spoke/transport-core';
import { createSelfSignedCertificate } from '@spoke/transport-core/pki';
import { bundleCertificates } from './hub-auth.js';
import { resolveReverseOptions, type HubReverseOptions, type ResolvedReverseOptions } from './reverse-listeners.js';

/** Session limits a hub applies to every agent and client session. */
export type HubSessionOptions = Partial<Omit<SessionOptions, 'role' | 'id' | 'identifiers' | 'onDial' | 'onHello' | 'auth' | 'extensions'>>;

/** An agent bearer token: plain (any id) or bound to the one agent id its holder may announce. */
export type AgentToken = string | { token: string; id: string };

/** Options of {@link createHub}. */
export interface HubOptions {
  /** Where agents and clients connect. Default `127.0.0.1:0`. */
  listen?: { host: string; port: number };
  /** PEM serving certificate and key. Without them the hub generates a self-signed certificate (see `fingerprint`). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * PEM CA bundle for agents (mTLS on `/v1/agent`). An agent certificate binds the agent id: the agent may
   * announce only its certificate's subject CN. Its certificates are refused on the client path.
   */
  agentCa?: string | Buffer;
  /** PEM CA bundle for clients (mTLS on `/v1/client`). Its certificates are refused on the agent path. */
  clientCa?: string | Buffer;
  /**
   * Bearer tokens accepted from agents: `{ token, id }` lets its holder announce only agent `id` (and
   * reserves `id` to it); a plain string lets its holder announce any id no token is bound to.
   */
  agentTokens?: readonly AgentToken[];
  /** Bearer tokens accepted from clients (spoke+wss:// dialers, the CONNECT front end). */
  clientTokens?: readonly string[];
  /** Serve plain `ws://` (loopback only; say so loudly). Default false. */
  insecurePlaintext?: boolean;
  /**
   * HTTP CONNECT front end (plain HTTP): a loopback TCP address (needs a client token) or a unix socket (file
   * permissions guard it). A non-loopback address is refused: bearer tokens would travel in cleartext.
   */
  connect?: { host: string; port: number } | { path: string };
  /** This hub's id, announced to agents (HA). Default a random UUID. */
  id?: string;
  /** How many hubs serve behind one address (agents connect until they reach this many distinct hubs). Default 1. */
  hubCount?: number;
  /** Limits of every session. */
  session?: HubSessionOptions;
  /** Grace for streams on `close()`. Default 30000 ms. */
  drainTimeoutMs?: number;
  /** Connections open at once on each listener (the WSS port, the CONNECT front end); more are closed as accepted. Default 4096. */
  maxConnections?: number;
  /** Connections open at once from one source address, on each listener. Default 256. */
  maxConnectionsPerAddress?: number;
  /**
   * Time from accepting a connection to its first request head (TLS handshake and WebSocket upgrade or
   * CONNECT), and for the spoke/1 HELLO after an upgrade unless `session.handshakeTimeoutMs` is set. Default 10000 ms.
   */
  handshakeTimeoutMs?: number;
  /**
   * Let clients open listeners on the hub's side whose connections come back to them
   * (`spoke forward -R`). Off by default; see {@link HubReverseOptions}.
   */
  reverse?: HubReverseOptions;
  logger?: Logger;
}

/** {@link HubOptions} checked, with every default filled in and the serving certificate settled. */
export interface ResolvedHubOptions {
  readonly log: Logger;
  readonly id: string;
  readonly listen: { host: string; port: number };
  readonly hubCount: number;
  readonly agentTokens: readonly AgentToken[];
  readonly clientTokens: readonly string[];
  readonly agentCa: string | Buffer | undefined;
  readonly clientCa: string | Buffer | undefined;
  readonly insecurePlaintext: boolean;
  /** The serving certificate and key (generated unless given); undefined in insecure mode unless given. */
  readonly tls: { cert: string | Buffer; key: string | Buffer } | undefined;
  /** `sha256:<hex>` of the serving certificate; undefined only in insecure mode. */
  readonly fingerprint: string | undefined;
  readonly connect: HubOptions['connect'];
  /** What every hub session starts from: the caller's limits over the hub's drain grace. */
  readonly session: HubSessionOptions;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly handshakeTimeoutMs: number;
  /** Reverse listeners, undefined when off. */
  readonly reverse: ResolvedReverseOptions | undefined;
}

/**
 * Checks hub options (a hub must authenticate agents, serves plaintext (ws://,
 * the CONNECT front end) only on loopback) and fills in the defaults; without a certificate of its own the hub
 * gets a self-signed one for the names it will be reached by. Throws `ERR_BAD_OPTION`.
 */
export function resolveHubOptions(options: HubOptions): ResolvedHubOptions {
  const log = (options.logger ?? silentLogger).child({ component: 'hub' });
  const listen = options.listen ?? { host: '127.0.0.1', port: 0 };
  const id = options.id ?? randomUUID();
  const hubCount = options.hubCount ?? 1;
  const agentTokens = options.agentTokens ?? [];
  const insecurePlaintext = options.insecurePlaintext === true;
  if (insecurePlaintext && !isLoopbackHost(listen.host)) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `insecurePlaintext is allowed only on loopback, not on ${listen.host}. Serve TLS (the default) instead.`,
    );
  }
  const connect = options.connect;
  if (connect && 'host' in connect && !isLoopbackHost(connect.host)) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `The CONNECT front end speaks plain HTTP: on ${connect.host} its clients' bearer tokens (Proxy-Authorization) would cross the network in cleartext. ` +
        'Bind connect to loopback (--connect 127.0.0.1:PORT) or a unix socket (--connect unix:/path, guarded by its file permissions).',
    );
  }
  checkAgentTokens(agentTokens, options.agentCa !== undefined);
  checkSeparateCas(options.agentCa, options.clientCa);
  if (!Number.isInteger(hubCount) || hubCount < 1)
    throw new SpokeError('ERR_BAD_OPTION', `hubCount must be a positive integer, got ${hubCount}.`);
  const { maxConnections = 4096, maxConnectionsPerAddress = 256, handshakeTimeoutMs = 10_000 } = options;
  for (const [name, value, max] of [
    ['maxConnections', maxConnections, 2 ** 30],
    ['maxConnectionsPerAddress', maxConnectionsPerAddress, 2 ** 30],
    ['handshakeTimeoutMs', handshakeTimeoutMs, 300_000],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max)
      throw new SpokeError('ERR_BAD_OPTION', `${name} must be an integer from 1 to ${max}, got ${value}.`);
  }

  let tls = options.tls;
  let fingerprint: string | undefined;
  if (!insecurePlaintext) {
    if (!tls) {
      const names = ['localhost', '127.0.0.1', '::1', listen.host].filter((n, i, a) => n !== '0.0.0.0' && n !== '::' && a.indexOf(n) === i);
      const self = createSelfSignedCertificate({ commonName: `spoke-hub ${id}`, altNames: names, usages: ['server'] });
      tls = { cert: self.cert, key: self.key };
    }
    fingerprint = certFingerprint(String(tls.cert));
  }

  return {
    log,
    id,
    listen,
    hubCount,
    agentTokens,
    clientTokens: options.clientTokens ?? [],
    agentCa: options.agentCa,
    clientCa: options.clientCa,
    insecurePlaintext,
    tls,
    fingerprint,
    connect,
    session: { drainTimeoutMs: options.drainTimeoutMs ?? 30_000, handshakeTimeoutMs, ...options.session },
    maxConnections,
    maxConnectionsPerAddress,
    handshakeTimeoutMs,
    reverse: resolveReverseOptions(options.reverse),
  };
}

/**
 * Agent tokens must be non-empty and distinct, and bound ids non-empty: which entry matched decides the id.
 * Without an agent CA there must be one: a hub always authenticates its agents.
 */
export function checkAgentTokens(tokens: readonly AgentToken[], haveAgentCa: boolean): void {
  if (tokens.length === 0 && !haveAgentCa) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      'A hub needs agent authentication: give agentTokens (--agent-token-file) or agentCa (--agent-ca) for mTLS. ' +
        'clientCa (--client-ca) authenticates clients only.',
    );
  }
  const seen = new Set<string>();
  for (const [i, t] of tokens.entries()) {
    const token = typeof t === 'string' ? t : t.token;
    if (token === '') throw new SpokeError('ERR_BAD_OPTION', `agentTokens[${i}] is an empty token.`);
    if (typeof t !== 'string' && t.id === '') throw new SpokeError('ERR_BAD_OPTION', `agentTokens[${i}] is bound to an empty id.`);
    if (seen.has(token)) throw new SpokeError('ERR_BAD_OPTION', `agentTokens[${i}] repeats an earlier token: each must be distinct.`);
    seen.add(token);
  }
}

/** One CA for both roles would let a client's certificate register as an agent, and the reverse. */
function checkSeparateCas(agentCa: string | Buffer | undefined, clientCa: string | Buffer | undefined): void {
  if (agentCa === undefined || clientCa === undefined) return;
  const clients = bundleCertificates(clientCa);
  if (bundleCertificates(agentCa).some((a) => clients.some((c) => c.equals(a)))) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      'agentCa and clientCa share a CA certificate: a certificate it signs would be both an agent and a client. Use a CA per role.',
    );
  }
}
