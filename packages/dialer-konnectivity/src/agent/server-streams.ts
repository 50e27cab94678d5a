import { readFileSync } from 'node:fs';
import { SpokeError } from '@spoke/transport-core';
import { fromGrpcError } from '../errors.js';
import { openAgentCall, type OpenedAgentCall } from './agent-call.js';
import type { AgentSettings } from './agent-options.js';
import { AgentSession } from './agent-session.js';

/** How long a server may take to answer the Connect stream (token review included). */
const HANDSHAKE_TIMEOUT_MS = 30_000;

/** What {@link ServerStreams} reports as streams come and go. */
export interface ServerStreamEvents {
  opened(serverId: string): void;
  lost(serverId: string): void;
}

/**
 * The agent's streams to proxy-servers, one per distinct server behind the
 * one address: a sync loop dials until `servercount` servers are held (or
 * forever with `--sync-forever`), retries with a capped backoff, and redials
 * when a stream ends, as upstream's agent does.
 */
export class ServerStreams {
  /** The last `servercount` a server announced (1 before any). */
  serverCount = 1;
  readonly #settings: AgentSettings;
  readonly #events: ServerStreamEvents;
  readonly #sessions = new Map<string, AgentSession>();
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;
  #draining = false;

  constructor(settings: AgentSettings, events: ServerStreamEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#schedule(0);
  }

  /** Ids of the servers held. */
  serverIds(): string[] {
    return [...this.#sessions.keys()];
  }

  /** Open destination connections over every stream. */
  connections(): number {
    return [...this.#sessions.values()].reduce((n, s) => n + s.connections, 0);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Stops dialling and tells every server this agent is going away. */
  drain(): void {
    this.#draining = true;
    this.#cancelTimer();
    for (const s of this.#sessions.values()) s.drain();
  }

  /** Closes every stream and stops dialling for good. */
  stop(): void {
    this.#stopped = true;
    this.#cancelTimer();
    for (const s of [...this.#sessions.values()]) s.close();
    this.#sessions.clear();
  }

  async #sync(): Promise<void> {
    this.#timer = undefined;
    const { syncIntervalMs, syncIntervalCapMs, options, where, log } = this.#settings;
    if (this.#stopped || this.#draining) return;
    if (this.#sessions.size >= this.serverCount && !options.syncForever) {
      this.#schedule(syncIntervalMs);
      return;
    }
    try {
      const r = await this.#connectOnce();
      this.#failures = 0;
      this.#schedule(r === 'new' && this.#sessions.size < this.serverCount ? 0 : syncIntervalMs);
    } catch (err) {
      this.#failures++;
      log(`connecting to ${where} failed: ${(err as Error).message}`);
      this.#schedule(Math.min(syncIntervalCapMs, syncIntervalMs * 1.5 ** this.#failures));
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.#draining || this.#timer) return;
    const jitter = ms * (0.9 + Math.random() * 0.2);
    this.#timer = setTimeout(() => void this.#sync(), ms === 0 ? 0 : jitter);
  }

  #cancelTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One connection attempt: a stream to a server not held yet, or one more to a held server (dropped). */
  async #connectOnce(): Promise<'new' | 'duplicate'> {
    const { options, host, port, where, log } = this.#settings;
    let opened: OpenedAgentCall;
    try {
      opened = await openAgentCall({
        host,
        port,
        ca: options.caCert,
        cert: options.agentCert,
        key: options.agentKey,
        metadata: this.#metadata(),
        keepaliveTimeMs: this.#settings.keepaliveTimeMs,
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
    if (Number.isInteger(count) && count > 0) this.serverCount = count;
    if (this.#sessions.has(serverId) || this.#stopped || this.#draining) {
      call.cancel();
      return 'duplicate';
    }
    const session = new AgentSession({
      call,
      serverId,
      allow: this.#settings.allow,
      dialTimeoutMs: options.dialTimeoutMs ?? 5000,
      maxQueuedBytes: options.maxQueuedBytes ?? 4 * 1024 * 1024,
      stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
      log,
      onClose: (s, err) => {
        if (this.#sessions.get(s.serverId) === s) this.#sessions.delete(s.serverId);
        log(`stream to server ${s.serverId} ended${err ? `: ${err.message}` : ''}`);
        this.#events.lost(s.serverId);
        if (!this.#stopped) this.#schedule(this.#settings.syncIntervalMs);
      },
    });
    this.#sessions.set(serverId, session);
    log(`connected to server ${serverId} (servercount ${this.serverCount})`);
    this.#events.opened(serverId);
    return 'new';
  }

  #metadata(): Record<string, string> {
    const { agentId, identifiers, options } = this.#settings;
    return {
      agentid: agentId,
      agentidentifiers: identifiers,
      // Re-read on every connect so rotated projected tokens are picked up.
      ...(options.serviceAccountTokenPath
        ? { authorization: `Bearer ${readFileSync(options.serviceAccountTokenPath, 'utf8').trim()}` }
        : {}),
    };
  }
}
