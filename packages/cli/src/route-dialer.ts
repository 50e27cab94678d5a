import { BlockList, isIP } from 'node:net';
import { SpokeError, isUnixTarget, parseTarget, type Dialer } from '@spoke/transport-core';

/** One `--route CIDR=URI`: targets whose address is inside `cidr` go through `dialer`. */
export interface Route {
  /** As written, e.g. `10.0.0.0/8`. */
  cidr: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  dialer: Dialer;
}

/**
 * Parses the CIDR half of `--route` (`a.b.c.d/n`, `v6::/n`, or a single
 * address). Throws `ERR_BAD_OPTION` describing the accepted forms.
 */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', prefixText, extra] = text.split('/');
  const version = isIP(address);
  const max = version === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (version === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `Invalid CIDR ${JSON.stringify(text)}: write ADDRESS/PREFIX such as 10.0.0.0/8 or fd00::/8 (a bare address means just that host).`,
    );
  }
  return { address, prefix, family: version === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * A Dialer that picks a hop by destination: the most specific `--route` whose
 * CIDR contains the target's IP address, else `fallback` (the `--via` chain).
 * Host names are not resolved here (the far side resolves them), so they
 * always take the fallback.
 */
export function createRoutingDialer(routes: readonly Route[], fallback: Dialer): Dialer {
  const ordered = [...routes]
    .sort((a, b) => b.prefix - a.prefix)
    .map((route) => {
      const list = new BlockList();
      list.addSubnet(parseCidr(route.cidr).address, route.prefix, route.family);
      return { route, list };
    });
  const pick = (host: string): Dialer => {
    const version = isIP(host);
    if (version === 0) return fallback;
    const family = version === 6 ? 'ipv6' : 'ipv4';
    return ordered.find(({ route, list }) => route.family === family && list.check(host, family))?.route.dialer ?? fallback;
  };
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
