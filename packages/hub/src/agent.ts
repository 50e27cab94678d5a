import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  SpokeError,
  createNetDialer,
  formatTarget,
  silentLogger,
  type Dialer,
  type Logger,
  type Target,
  type TlsClientOptions,
} from '@spoke/transport-core';
import { createAllowList, createBackoff, parseAgentIdentifiers, type BackoffOptions } from '@spoke/transport-core/utils';
import { HubLinks } from './hub-links.js';
import type { HubSessionOptions } from './hub-options.js';

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /** Hub URL(s): one address (possibly a load balancer in front of `hubCount` hubs) or a list of hubs. */
  hub: string | readonly string[];
  /** This agent's id. */
  id: string;
  /** Konnectivity-style identifiers: `host=node-1&ipv4=10.0.0.5&cidr=10.0.0.0/24&default-route=true`. */
  identifiers?: string;
  /** `CIDR[:PORT[-PORT]]`, `IP[:PORT[-PORT]]` or `HOST[:PORT[-PORT]]` rules of targets this agent may dial. Empty: deny everything. */
  allow: readonly string[];
  /** Bearer token, or a function that reads it (called on every connect, so rotated files are picked up). */
  token?: string | (() => string);
  /** Verification of the hub (CA bundle, `fingerprint: "sha256:<hex>"` pin) and a client certificate for mTLS. */
  tls?: TlsClientOptions;
  /** Connect with plain ws:// (tests on loopback only). */
  insecurePlaintext?: boolean;
  /** How to reach the hub. Default direct TCP. */
  via?: Dialer;
  /** How to reach targets. Default direct TCP. */
  dialer?: Dialer;
  /** Reconnect backoff. Default 1 s doubling to 30 s with ±20 % jitter. */
  backoff?: BackoffOptions;
  /** Resolver used by the allow list (tests). */
  resolve?: (host: string) => Promise<string[]>;
  /** Session limits (keepalive, idle timeout...). */
  session?: HubSessionOptions;
  logger?: Logger;
}

/** A running agent. Events: `connected` (hubId), `disconnected` (hubId, SpokeError). */
export interface Agent extends EventEmitter {
  readonly id: string;
  /** Hub ids with an open session right now. */
  connectedHubs(): string[];
  /** Resolves once `n` distinct hubs are connected (default 1). */
  waitConnected(n?: number, options?: { signal?: AbortSignal }): Promise<void>;
  /** Drain: announce (GOAWAY), let streams finish, stop reconnecting. */
  close(): Promise<void>;
  /** Stop at once. */
  destroy(): void;
}

/** Denied dials are logged at most this often (each line counts the denials since the last one). */
const DENIED_LOG_EVERY_MS = 10_000;

/**
 * Starts an agent: it dials out to the hub(s), keeps one session per distinct
 * hub, reconnects with backoff and jitter, and serves the hub's dials to
 * targets inside its allow list (deny by default).
 */
export function createAgent(options: AgentOptions): Agent {
  const log = (options.logger ?? silentLogger).child({ component: 'agent', agent: options.id });
  const urls = typeof options.hub === 'string' ? [options.hub] : [...options.hub];
  if (urls.length === 0) throw new SpokeError('ERR_BAD_OPTION', 'An agent needs at least one hub URL (--hub wss://HOST:PORT).');
  if (options.id === '') throw new SpokeError('ERR_BAD_OPTION', 'An agent needs an id (--id).');
  parseAgentIdentifiers(options.identifiers ?? '');
  const allow = createAllowList(options.allow, options.resolve ? { resolve: options.resolve } : {});
  if (allow.rules.length === 0) log.warn('no --allow rules: this agent refuses every dial');
  const targets = options.dialer ?? createNetDialer();
  const emitter = new EventEmitter() as Agent;

  // A hub, or any client through it, can send denied dials without end: one log line per 10 s at most,
  // counting the denials it stands for, so a flood of them cannot fill the node's disk.
  let lastDeniedLog = -Infinity;
  let deniedSinceLog = 0;
  // The hub's dials: only to targets inside the allow list, at the address the list checked.
  const onDial = async (target: Target, info: { signal: AbortSignal }): Promise<Duplex> => {
    let checked;
    try {
      checked = await allow.check(target, { signal: info.signal });
    } catch (err) {
      deniedSinceLog++;
      const now = performance.now();
      if (now - lastDeniedLog >= DENIED_LOG_EVERY_MS) {
        log.warn('dial denied', { target: formatTarget(target), code: SpokeError.from(err).code, denied: deniedSinceLog });
        lastDeniedLog = now;
        deniedSinceLog = 0;
      }
      throw err;
    }
    return targets.dial(checked, { signal: info.signal });
  };

  const links = new HubLinks({
    urls,
    id: options.id,
    identifiers: options.identifiers ?? '',
    token: () => (typeof options.token === 'function' ? options.token() : options.token),
    tls: options.tls,
    insecurePlaintext: options.insecurePlaintext === true,
    via: options.via,
    session: options.session,
    backoff: createBackoff({ initialDelayMs: 1000, maxDelayMs: 30_000, ...options.backoff }),
    onDial,
    log,
    events: emitter,
  });
  links.start();

  Object.assign(emitter, {
    id: options.id,
    connectedHubs: () => links.hubIds(),
    waitConnected: (n = 1, o: { signal?: AbortSignal } = {}) => links.waitConnected(n, o),
    close: () => links.close(),
    destroy: () => links.destroy(),
  });
  return emitter;
}
