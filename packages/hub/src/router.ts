import { isIP } from 'node:net';
import { cidrContains, ipToBigInt } from './cidr.js';
import type { AgentIdentifiers } from './identifiers.js';

/** What the router needs to know about a connected agent. */
export interface RoutableAgent {
  id: string;
  identifiers: AgentIdentifiers;
  draining: boolean;
  /** Open streams, for load sharing. */
  load: number;
}

/** Why an agent was chosen, for logs and metrics. */
export type RouteReason = 'host' | 'cidr' | 'default-route' | 'any';

/**
 * Picks the agent for a destination host: exact host/IP, then the most
 * specific CIDR, then default-route agents, then any agent. Among equals the
 * least loaded wins; draining agents are used only when nothing else can.
 */
export function route<A extends RoutableAgent>(agents: readonly A[], host: string): { agent: A; reason: RouteReason } | undefined {
  const live = agents.filter((a) => !a.draining);
  return (
    pick(live, host) ??
    pick(
      agents.filter((a) => a.draining),
      host,
    )
  );
}

function pick<A extends RoutableAgent>(agents: readonly A[], host: string): { agent: A; reason: RouteReason } | undefined {
  if (agents.length === 0) return undefined;
  const h = host.toLowerCase();
  const ip = isIP(h) !== 0 ? canonical(h) : undefined;
  const exact = agents.filter(
    (a) =>
      a.identifiers.hosts.includes(h) ||
      (ip !== undefined && [...a.identifiers.ipv4, ...a.identifiers.ipv6].some((x) => canonical(x) === ip)),
  );
  if (exact.length > 0) return { agent: leastLoaded(exact), reason: 'host' };
  if (ip !== undefined) {
    let best = -1;
    let matches: A[] = [];
    for (const a of agents) {
      for (const c of a.identifiers.cidrs) {
        if (!cidrContains(c, h)) continue;
        if (c.prefix > best) {
          best = c.prefix;
          matches = [a];
        } else if (c.prefix === best && !matches.includes(a)) matches.push(a);
      }
    }
    if (matches.length > 0) return { agent: leastLoaded(matches), reason: 'cidr' };
  }
  const defaults = agents.filter((a) => a.identifiers.defaultRoute);
  if (defaults.length > 0) return { agent: leastLoaded(defaults), reason: 'default-route' };
  return { agent: leastLoaded(agents), reason: 'any' };
}

function leastLoaded<A extends RoutableAgent>(agents: readonly A[]): A {
  let best = agents[0] as A;
  for (const a of agents) if (a.load < best.load) best = a;
  return best;
}

function canonical(ip: string): string {
  const v = ipToBigInt(ip);
  return v ? `${v.family}:${v.value}` : ip;
}
