import { isUnixTarget, parseTarget, type Dialer } from '@spoke/transport-core';
import { cidrContains, type Cidr } from '@spoke/transport-core/utils';

/** One `--route CIDR=URI`: targets whose address is inside `cidr` go through `dialer`. */
export interface Route {
  cidr: Cidr;
  dialer: Dialer;
}

/**
 * A Dialer that picks a hop by destination: the most specific `--route` whose
 * CIDR contains the target's IP address, else `fallback` (the `--via` chain).
 * Host names are not resolved here (the far side resolves them), so they
 * always take the fallback.
 */
export function createRoutingDialer(routes: readonly Route[], fallback: Dialer): Dialer {
  // Longest prefix first, so the first route that contains an address is the most specific one.
  const ordered = [...routes].sort((a, b) => b.cidr.prefix - a.cidr.prefix);
  const pick = (host: string): Dialer => ordered.find((route) => cidrContains(route.cidr, host))?.dialer ?? fallback;
  return {
    kind: ordered.length === 0 ? fallback.kind : 'routes',
    dial(target, options) {
      const parsed = parseTarget(target);
      return (isUnixTarget(parsed) ? fallback : pick(parsed.host)).dial(parsed, options);
    },
    async close() {
      await Promise.all([fallback, ...routes.map((r) => r.dialer)].map((d) => d.close()));
    },
  };
}
