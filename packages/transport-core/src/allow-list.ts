import { lookup } from 'node:dns/promises';
import { cidrContains, normaliseIp, parseCidr, type Cidr } from './cidr.js';
import { SpokeError } from './errors.js';
import { formatTarget, type Target } from './target.js';

/** One allow rule: `CIDR[:PORT[-PORT]]`, `IP[:PORT[-PORT]]`, or `HOST[:PORT[-PORT]]`. */
export interface AllowRule {
  /** The network the rule allows, or undefined for a host-name rule. */
  cidr: Cidr | undefined;
  /** The host name the rule allows (lower case), or undefined for a network rule. */
  host: string | undefined;
  fromPort: number;
  toPort: number;
  /** As written. */
  text: string;
}

/**
 * Parses `10.0.0.0/8`, `10.0.0.5:22`, `10.0.0.0/24:8000-9000`,
 * `[fd00::/64]:443`, `node-1.internal:10250`. A rule without a port allows
 * every port. `flag` names the option in messages (default `--allow`).
 */
export function parseAllowRule(text: string, flag = '--allow'): AllowRule {
  const bad = (why: string): SpokeError =>
    new SpokeError(
      'ERR_BAD_OPTION',
      `Invalid ${flag} ${JSON.stringify(text)}: ${why}. Use CIDR[:PORT[-PORT]], IP[:PORT[-PORT]] or HOST[:PORT[-PORT]], e.g. 10.0.0.0/8:10250 or [fd00::/64]:443.`,
    );
  let addr = text;
  let ports: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw bad('missing "]"');
    addr = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw bad('expected ":PORT" after "]"');
      ports = rest.slice(1);
    }
  } else if (text.split(':').length === 2) {
    [addr = '', ports] = text.split(':');
  }
  let fromPort = 1;
  let toPort = 65535;
  if (ports !== undefined) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(ports);
    if (!m) throw bad(`"${ports}" is not PORT or PORT-PORT`);
    fromPort = Number(m[1]);
    toPort = Number(m[2] ?? m[1]);
    if (fromPort < 1 || toPort > 65535 || fromPort > toPort) throw bad('ports must be 1..65535, low-high');
  }
  const [address = ''] = addr.split('/');
  if (normaliseIp(address) === undefined) {
    if (addr.includes('/') || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(addr))
      throw bad(`"${addr}" is neither an address, a CIDR nor a host name`);
    return { cidr: undefined, host: addr.toLowerCase(), fromPort, toPort, text };
  }
  return { cidr: parseCidr(addr, `${flag} network`), host: undefined, fromPort, toPort, text };
}

/** Options of {@link createAllowList}. */
export interface AllowListOptions {
  /** Resolver for host names; default `dns.lookup` (all addresses). */
  resolve?: (host: string) => Promise<string[]>;
  /** Who refuses, for messages: default `"the agent"`. */
  who?: string;
}

/** Decides which targets may be dialled. Deny by default. */
export interface AllowList {
  readonly rules: readonly AllowRule[];
  /** Whether `host` (an IP address or a name, as given) and `port` match a rule, without resolving anything. */
  allows(host: string, port: number): boolean;
  /**
   * Returns the target to dial, or throws `ERR_DIAL_DENIED`. A host name that
   * no host rule names is resolved; then every address must be allowed, and
   * the checked address is the one to dial (no second lookup).
   */
  check(target: Target, options?: { signal?: AbortSignal }): Promise<Target>;
}

/** Builds an allow list from rules. Unix socket targets are always denied. */
export function createAllowList(rules: readonly string[], options: AllowListOptions = {}): AllowList {
  const parsed = rules.map((r) => parseAllowRule(r));
  const resolve = options.resolve ?? (async (host: string) => (await lookup(host, { all: true })).map((a) => a.address));
  const who = options.who ?? 'the agent';
  const allows = (host: string, port: number): boolean => {
    const name = host.toLowerCase();
    return parsed.some(
      (r) => port >= r.fromPort && port <= r.toPort && (r.cidr === undefined ? r.host === name : cidrContains(r.cidr, host)),
    );
  };
  return {
    rules: parsed,
    allows,
    async check(target, checkOptions = {}) {
      const denied = (why: string): SpokeError =>
        new SpokeError(
          'ERR_DIAL_DENIED',
          `${who.charAt(0).toUpperCase()}${who.slice(1)} refuses ${formatTarget(target)}: ${why}. Add a matching --allow CIDR[:PORT[-PORT]] if it should be reachable.`,
          { target, hop: 'agent' },
        );
      if ('path' in target) throw denied('unix sockets are never allowed');
      if (parsed.length === 0) throw denied('there are no --allow rules (everything is denied)');
      if (normaliseIp(target.host) !== undefined || parsed.some((r) => r.host === target.host.toLowerCase())) {
        if (!allows(target.host, target.port)) throw denied(`${target.host} is outside the allow list`);
        return target;
      }
      checkOptions.signal?.throwIfAborted();
      let addresses: string[];
      try {
        addresses = await resolve(target.host);
      } catch (err) {
        throw SpokeError.from(err, { target, hop: 'agent' });
      }
      if (addresses.length === 0) {
        throw new SpokeError('ERR_DIAL_UNREACHABLE', `${target.host} resolves to no address.`, { target, hop: 'agent' });
      }
      const outside = addresses.find((a) => !allows(a, target.port));
      if (outside !== undefined) throw denied(`${target.host} resolves to ${outside}, which is outside the allow list`);
      return { host: addresses[0] as string, port: target.port };
    },
  };
}
