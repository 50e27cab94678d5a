import { cidrContains, parseCidr, type AgentIdentifiers, type Cidr } from '@spoke/transport-core/utils';
import type { PacketCall } from '../packet-call.js';

/** One agent `Connect` stream. */
export interface Backend {
  agentId: string;
  identifiers: AgentIdentifiers;
  call: PacketCall;
  draining: boolean;
  /** The agent's `cidr` identifiers, parsed. */
  cidrs: readonly Cidr[];
}

/** The server's `--proxy-strategies` values (`destCIDR` is spoke's addition). */
export type ProxyStrategy = 'default' | 'destHost' | 'defaultRoute' | 'destCIDR';

/** All proxy strategies, for validation. */
export const PROXY_STRATEGIES: readonly ProxyStrategy[] = ['default', 'destHost', 'defaultRoute', 'destCIDR'];

/** Parses an agent's `cidr` identifiers (the server's lenient identifier parse has dropped malformed ones). */
export function agentCidrs(cidrs: readonly string[]): Cidr[] {
  return cidrs.map((c) => parseCidr(c));
}

/**
 * Agent streams and the strategies that pick one per dial: tried in order,
 * a strategy with no match falls through to the next; draining agents are a
 * last resort within a strategy (upstream's DRAIN semantics).
 */
export class BackendManager {
  readonly #backends = new Set<Backend>();
  readonly #strategies: readonly ProxyStrategy[];
  #rotor = 0;

  constructor(strategies: readonly ProxyStrategy[]) {
    this.#strategies = strategies;
  }

  add(b: Backend): void {
    this.#backends.add(b);
  }

  remove(b: Backend): void {
    this.#backends.delete(b);
  }

  get size(): number {
    return this.#backends.size;
  }

  /** Ready when the first strategy has a backend (upstream's readiness rule). */
  ready(): boolean {
    const first = this.#strategies[0] ?? 'default';
    return [...this.#backends].some((b) => this.#matches(first, b, undefined));
  }

  /** Backends usable by `strategy` (for metrics). */
  count(strategy: ProxyStrategy): number {
    return [...this.#backends].filter((b) => this.#matches(strategy, b, undefined)).length;
  }

  /** Picks a backend for `address` (`host:port`), or undefined. */
  pick(address: string): Backend | undefined {
    const host = address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    for (const s of this.#strategies) {
      const found = [...this.#backends].filter((b) => this.#matches(s, b, host));
      if (found.length === 0) continue;
      const live = found.filter((b) => !b.draining);
      const pool = live.length > 0 ? live : found;
      this.#rotor = (this.#rotor + 1) % 1_000_000;
      return pool[this.#rotor % pool.length];
    }
    return undefined;
  }

  #matches(s: ProxyStrategy, b: Backend, host: string | undefined): boolean {
    switch (s) {
      case 'default':
        return true;
      case 'defaultRoute':
        return b.identifiers.defaultRoute;
      case 'destHost':
        if (host === undefined) return b.identifiers.host.length + b.identifiers.ipv4.length + b.identifiers.ipv6.length > 0;
        return b.identifiers.host.includes(host) || b.identifiers.ipv4.includes(host) || b.identifiers.ipv6.includes(host);
      case 'destCIDR': {
        if (host === undefined) return b.cidrs.length > 0;
        return b.cidrs.some((c) => cidrContains(c, host));
      }
    }
  }

  all(): Backend[] {
    return [...this.#backends];
  }
}
