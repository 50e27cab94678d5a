import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { Session } from '@spoke/transport-core';
import { route, type AgentRoutes, type RoutableAgent, type RouteReason } from './router.js';

/** A connected agent as the hub sees it. */
export interface HubAgentInfo {
  id: string;
  identifiers: string;
  remote: string;
  streams: number;
  draining: boolean;
  connectedAt: Date;
}

/** One agent session held by the registry; draining and load are read live from the session. */
export class ConnectedAgent implements RoutableAgent {
  /** Unique per session: the same agent id may briefly have an old session draining beside a new one. */
  readonly key: string;
  readonly connectedAt = new Date();

  constructor(
    readonly id: string,
    readonly routes: AgentRoutes,
    /** As the agent announced them. */
    readonly rawIdentifiers: string,
    readonly session: Session,
    readonly remote: string,
    /** Who authenticated it (see `AgentCredential.principal`): only the same principal may replace it. */
    readonly principal: string,
  ) {
    this.key = `${id}#${randomUUID()}`;
  }

  get draining(): boolean {
    return this.session.state === 'draining';
  }

  get load(): number {
    return this.session.stats.streams;
  }

  info(): HubAgentInfo {
    return {
      id: this.id,
      identifiers: this.rawIdentifiers,
      remote: this.remote,
      streams: this.load,
      draining: this.draining,
      connectedAt: this.connectedAt,
    };
  }
}

/** The agents connected to one hub: who is there, which one serves a host, and waiting for them to arrive. */
export class AgentRegistry {
  readonly #agents = new Map<string, ConnectedAgent>();
  /** Emits `change` whenever an agent comes or goes. */
  readonly #changes = new EventEmitter();

  get size(): number {
    return this.#agents.size;
  }

  /** Streams open through all agents. */
  get streams(): number {
    let n = 0;
    for (const a of this.#agents.values()) n += a.load;
    return n;
  }

  /** A live session of agent `id`, if any (whoever holds the id now). */
  holder(id: string): ConnectedAgent | undefined {
    return [...this.#agents.values()].find((a) => a.id === id && a.session.state !== 'closed');
  }

  /**
   * Registers an agent whose session just opened; it leaves when the session closes. The same
   * agent id reconnecting with the same principal replaces its older session, which drains
   * (another principal was refused at its HELLO).
   */
  add(agent: ConnectedAgent): void {
    for (const old of this.#agents.values()) {
      if (old.id === agent.id && old.principal === agent.principal) {
        this.#agents.delete(old.key);
        void old.session.close();
      }
    }
    this.#agents.set(agent.key, agent);
    this.#changes.emit('change');
    agent.session.once('close', () => {
      this.#agents.delete(agent.key);
      this.#changes.emit('change');
    });
  }

  /** The agent to reach `host` through (see {@link route}), among live sessions, optionally only the agent with `onlyAgent` id. */
  pick(host: string, onlyAgent?: string): { agent: ConnectedAgent; reason: RouteReason } | undefined {
    const candidates = [...this.#agents.values()].filter(
      (a) => a.session.state !== 'closed' && (onlyAgent === undefined || a.id === onlyAgent),
    );
    return route(candidates, host);
  }

  list(): HubAgentInfo[] {
    return [...this.#agents.values()].map((a) => a.info());
  }

  sessions(): Session[] {
    return [...this.#agents.values()].map((a) => a.session);
  }

  /** Resolves when at least `n` agents are connected. */
  async waitFor(n: number, options: { signal?: AbortSignal } = {}): Promise<void> {
    while (this.#agents.size < n) {
      options.signal?.throwIfAborted();
      await once(this.#changes, 'change', options.signal ? { signal: options.signal } : {});
    }
  }
}
