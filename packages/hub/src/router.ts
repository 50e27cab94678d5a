import { cidrContains, normaliseIp, parseCidr, type AgentIdentifiers, type Cidr } from '@spoke/transport-core/utils';

/** An agent's identifiers as routing compares them: host names in lower case, addresses and networks parsed once. */
export interface AgentRoutes {
  hosts: string[];
  /** `ipv4=` and `ipv6=` identifiers as single-address networks, so every spelling of an address matches. */
  addresses: Cidr[];
  cidrs: Cidr[];
  defaultRoute: boolean;
}

/** What the router needs to know about a connected agent. */
export interface RoutableAgent {
  id: string;
  routes: AgentRoutes;
  draining: boolean;
  /** Open streams, for load sharing. */
  load: number;
}

/** Why an agent was chosen, for logs and metrics. */
export type RouteReason = 'host' | 'cidr' | 'default-route' | 'any';

/** Prepares parsed identifiers (see `parseAgentIdentifiers`) for {@link route}. */
export function agentRoutes(ids: AgentIdentifiers): AgentRoutes {
  return {
    hosts: ids.host.map((h) => h.toLowerCase()),
    addresses: [...ids.ipv4, ...ids.ipv6].map((a) => parseCidr(a)),
    cidrs: ids.cidr.map((c) => parseCidr(c)),
    defaultRoute: ids.defaultRoute,
  };
}

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
  const isAddress = normaliseIp(h) !== undefined;
  const exact = agents.filter((a) => a.routes.hosts.includes(h) || (isAddress && a.routes.addresses.some((c) => cidrContains(c, h))));
  if (exact.length > 0) return { agent: leastLoaded(exact), reason: 'host' };
  if (isAddress) {
    let best = -1;
    let matches: A[] = [];
    for (const a of agents) {
      for (const c of a.routes.cidrs) {
        if (!cidrContains(c, h)) continue;
        if (c.prefix > best) {
          best = c.prefix;
          matches = [a];
        } else if (c.prefix === best && !matches.includes(a)) matches.push(a);
      }
    }
    if (matches.length > 0) return { agent: leastLoaded(matches), reason: 'cidr' };
  }
  const defaults = agents.filter((a) => a.routes.defaultRoute);
  if (defaults.length > 0) return { agent: leastLoaded(defaults), reason: 'default-route' };
  return { agent: leastLoaded(agents), reason: 'any' };
}

function leastLoaded<A extends RoutableAgent>(agents: readonly A[]): A {
  let best = agents[0] as A;
  for (const a of agents) if (a.load < best.load) best = a;
  return best;
}
