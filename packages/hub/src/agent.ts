import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  SpokeError,
  backoffDelay,
  createBackoff,
  createNetDialer,
  formatTarget,
  isAbortError,
  silentLogger,
  type BackoffOptions,
  type Dialer,
  type Logger,
  type Session,
  type TlsClientOptions,
} from '@spoke/transport-core';
import { sessionOverWebSocket } from './ws-carrier.js';
import { createAllowList } from './allowlist.js';
import { connectToHub } from './hub-connect.js';
import type { HubSessionOptions } from './hub-options.js';
import { parseIdentifiers } from './identifiers.js';

/** Options of {@link createAgent}. */
export interface AgentOptions {
  /** Hub URL(s): one address (possibly a load balancer in front of `hubCount` hubs) or a list of hubs. */
  hub: string | readonly string[];
  /** This agent's id. */
  id: string;
  /** Konnectivity-style identifiers: `host=node-1&ipv4=10.0.0.5&cidr=10.0.0.0/24&default-route=true`. */
  identifiers?: string;
  /** `CIDR[:PORT[-PORT]]` rules of targets this agent may dial. Empty: deny everything. */
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
  parseIdentifiers(options.identifiers ?? '');
  const allow = createAllowList(options.allow, options.resolve ? { resolve: options.resolve } : {});
  if (allow.rules.length === 0) log.warn('no --allow rules: this agent refuses every dial');
  const backoff = createBackoff({ initialDelayMs: 1000, maxDelayMs: 30_000, ...options.backoff });
  const targets = options.dialer ?? createNetDialer();
  const stop = new AbortController();
  const sessions = new Map<string, Session>(); // hubId → session
  const emitter = new EventEmitter() as Agent;
  let wanted = urls.length; // grows to the hub's announced hubCount when one address fronts several hubs

  const onDial = async (target: Parameters<typeof allow.check>[0], info: { signal: AbortSignal }) => {
    let checked;
    try {
      checked = await allow.check(target);
    } catch (err) {
      log.warn('dial denied', { target: formatTarget(target), code: SpokeError.from(err).code });
      throw err;
    }
    return targets.dial(checked, { signal: info.signal });
  };

  const token = (): string | undefined => (typeof options.token === 'function' ? options.token() : options.token);

  // One connection slot: connect, serve until the session ends, back off, again.
  const runSlot = async (url: string): Promise<void> => {
    let attempt = 0;
    while (!stop.signal.aborted) {
      let session: Session | undefined;
      let hubId = '';
      try {
        const ws = await connectToHub({
          url,
          path: '/v1/agent',
          token: token(),
          ...(options.tls ? { tls: options.tls } : {}),
          ...(options.insecurePlaintext ? { insecurePlaintext: true } : {}),
          ...(options.via ? { via: options.via } : {}),
          signal: stop.signal,
          timeoutMs: 15_000,
        });
        session = sessionOverWebSocket(
          ws,
          { ...options.session, role: 'initiator', id: options.id, identifiers: options.identifiers ?? '', onDial },
          `hub ${url}`,
        );
        const peer = await session.ready({ signal: stop.signal });
        hubId = typeof peer.extensions?.['hubId'] === 'string' ? peer.extensions['hubId'] : peer.id;
        const count = peer.extensions?.['hubCount'];
        if (urls.length === 1 && typeof count === 'number' && Number.isInteger(count) && count > wanted && count <= 64) {
          for (let i = wanted; i < count; i++) void runSlot(url);
          wanted = count;
        }
        if (sessions.has(hubId)) {
          // Already connected to that hub through another slot: try again later for another one.
          await session.close();
          throw new SpokeError('ERR_TUNNEL_CLOSED', `already connected to hub ${hubId}`);
        }
        sessions.set(hubId, session);
        attempt = 0;
        log.info('connected to hub', { hub: hubId, url });
        emitter.emit('connected', hubId);
        await session.closed();
        sessions.delete(hubId);
        const err = session.closeError;
        log.warn('hub session ended', { hub: hubId, code: err?.code ?? 'closed' });
        emitter.emit('disconnected', hubId, err);
      } catch (err) {
        session?.destroy();
        if (stop.signal.aborted || isAbortError(err)) break;
        const e = SpokeError.from(err);
        if (e.message !== `already connected to hub ${hubId}`) log.warn('cannot reach hub', { url, code: e.code, error: e.message });
      }
      if (stop.signal.aborted) break;
      const delay = backoffDelay(backoff, attempt++);
      try {
        await sleep(delay, undefined, { signal: stop.signal });
      } catch {
        break;
      }
    }
  };

  for (const url of urls) void runSlot(url);

  Object.assign(emitter, {
    id: options.id,
    connectedHubs: () => [...sessions.keys()],
    async waitConnected(n = 1, o: { signal?: AbortSignal } = {}) {
      while (sessions.size < n) {
        o.signal?.throwIfAborted();
        await once(emitter, 'connected', o.signal ? { signal: o.signal } : {});
      }
    },
    async close() {
      stop.abort();
      await Promise.all([...sessions.values()].map((s) => s.close()));
    },
    destroy() {
      stop.abort();
      for (const s of sessions.values()) s.destroy();
    },
  });
  return emitter;
}
