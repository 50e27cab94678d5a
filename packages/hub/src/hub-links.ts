import { once, type EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  SpokeError,
  isAbortError,
  type Dialer,
  type Logger,
  type Session,
  type SessionOptions,
  type TlsClientOptions,
} from '@spoke/transport-core';
import { backoffDelay, type Backoff } from '@spoke/transport-core/utils';
import { connectToHub } from './hub-connect.js';
import type { HubSessionOptions } from './hub-options.js';
import { sessionOverWebSocket } from './ws-carrier.js';

/** What an agent's links to its hubs need: where, who it is, how to authenticate, how to serve the hub's dials. */
export interface HubLinksOptions {
  urls: readonly string[];
  id: string;
  identifiers: string;
  /** Called on every connect, so rotated token files are picked up. */
  token: () => string | undefined;
  tls: TlsClientOptions | undefined;
  insecurePlaintext: boolean;
  via: Dialer | undefined;
  session: HubSessionOptions | undefined;
  backoff: Backoff;
  onDial: NonNullable<SessionOptions['onDial']>;
  log: Logger;
  /** Receives `connected` (hubId) and `disconnected` (hubId, SpokeError). */
  events: EventEmitter;
}

/**
 * An agent's sessions to its hubs, one per distinct hub: each slot connects,
 * serves until its session ends, backs off with jitter and connects again,
 * until the links are closed. One address fronting several hubs gains slots
 * until the hub's announced `hubCount` distinct hubs are reached.
 */
export class HubLinks {
  readonly #options: HubLinksOptions;
  readonly #sessions = new Map<string, Session>(); // hubId → session
  readonly #stop = new AbortController();
  /** Slots running; grows to the hub's announced hubCount when one address fronts several hubs. */
  #wanted: number;

  constructor(options: HubLinksOptions) {
    this.#options = options;
    this.#wanted = options.urls.length;
  }

  /** Starts one slot per URL. */
  start(): void {
    for (const url of this.#options.urls) void this.#runSlot(url);
  }

  /** Hub ids with an open session right now. */
  hubIds(): string[] {
    return [...this.#sessions.keys()];
  }

  /** Resolves once `n` distinct hubs are connected. */
  async waitConnected(n: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    while (this.#sessions.size < n) {
      options.signal?.throwIfAborted();
      await once(this.#options.events, 'connected', options.signal ? { signal: options.signal } : {});
    }
  }

  /** Stops reconnecting and drains every session. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.all([...this.#sessions.values()].map((s) => s.close()));
  }

  /** Stops reconnecting and drops every session. */
  destroy(): void {
    this.#stop.abort();
    for (const s of this.#sessions.values()) s.destroy();
  }

  // One connection slot: connect, serve until the session ends, back off, again.
  async #runSlot(url: string): Promise<void> {
    const { log, events } = this.#options;
    const stop = this.#stop.signal;
    let attempt = 0;
    while (!stop.aborted) {
      let session: Session | undefined;
      let hubId = '';
      try {
        session = await this.#connect(url);
        const peer = await session.ready({ signal: stop });
        hubId = typeof peer.extensions?.['hubId'] === 'string' ? peer.extensions['hubId'] : peer.id;
        this.#grow(url, peer.extensions?.['hubCount']);
        if (this.#sessions.has(hubId)) {
          // Already connected to that hub through another slot: try again later for another one.
          await session.close();
          throw new SpokeError('ERR_TUNNEL_CLOSED', `already connected to hub ${hubId}`);
        }
        this.#sessions.set(hubId, session);
        attempt = 0;
        log.info('connected to hub', { hub: hubId, url });
        events.emit('connected', hubId);
        await session.closed();
        this.#sessions.delete(hubId);
        const err = session.closeError;
        log.warn('hub session ended', { hub: hubId, code: err?.code ?? 'closed' });
        events.emit('disconnected', hubId, err);
      } catch (err) {
        session?.destroy();
        if (stop.aborted || isAbortError(err)) break;
        const e = SpokeError.from(err);
        if (e.message !== `already connected to hub ${hubId}`) log.warn('cannot reach hub', { url, code: e.code, error: e.message });
      }
      if (stop.aborted) break;
      const delay = backoffDelay(this.#options.backoff, attempt++);
      try {
        await sleep(delay, undefined, { signal: stop });
      } catch {
        break;
      }
    }
  }

  async #connect(url: string): Promise<Session> {
    const o = this.#options;
    const ws = await connectToHub({
      url,
      path: '/v1/agent',
      token: o.token(),
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.insecurePlaintext ? { insecurePlaintext: true } : {}),
      ...(o.via ? { via: o.via } : {}),
      signal: this.#stop.signal,
      timeoutMs: 15_000,
    });
    return sessionOverWebSocket(
      ws,
      { ...o.session, role: 'initiator', id: o.id, identifiers: o.identifiers, onDial: o.onDial },
      `hub ${url}`,
    );
  }

  // One address in front of several hubs (a load balancer): add slots until every hub has one.
  #grow(url: string, count: unknown): void {
    if (this.#options.urls.length === 1 && typeof count === 'number' && Number.isInteger(count) && count > this.#wanted && count <= 64) {
      for (let i = this.#wanted; i < count; i++) void this.#runSlot(url);
      this.#wanted = count;
    }
  }
}
