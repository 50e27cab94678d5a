import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { SpokeError, formatTarget, type Target } from '@spoke/transport-core';
import { cidrContains, parseCidr, type Cidr } from './cidr.js';

/** One `--allow CIDR[:PORT[-PORT]]` rule. */
export interface AllowRule {
  cidr: Cidr;
  fromPort: number;
  toPort: number;
  text: string;
}

/**
 * Parses `10.0.0.0/8`, `10.0.0.5:22`, `10.0.0.0/24:8000-9000`, `[fd00::/64]:443`.
 * A rule without a port allows every port.
 */
export function parseAllowRule(text: string): AllowRule {
  let addr = text;
  let ports: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw bad(text, 'missing "]"');
    addr = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw bad(text, 'expected ":PORT" after "]"');
      ports = rest.slice(1);
    }
  } else if (!text.includes('::') && text.split(':').length === 2) {
    [addr = '', ports] = text.split(':');
  }
  const cidr = parseCidr(addr);
  let fromPort = 1;
  let toPort = 65535;
  if (ports !== undefined) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(ports);
    if (!m) throw bad(text, `"${ports}" is not PORT or PORT-PORT`);
    fromPort = Number(m[1]);
    toPort = Number(m[2] ?? m[1]);
    if (fromPort < 1 || toPort > 65535 || fromPort > toPort) throw bad(text, 'ports must be 1..65535, low-high');
  }
  return { cidr, fromPort, toPort, text };
}

function bad(text: string, why: string): SpokeError {
  return new SpokeError(
    'ERR_BAD_OPTION',
    `Invalid --allow "${text}": ${why}. Use CIDR[:PORT[-PORT]], e.g. 10.0.0.0/8, 10.0.0.5:22, [fd00::/64]:443.`,
  );
}

/** Options of {@link createAllowList}. */
export interface AllowListOptions {
  /** Resolver for host names; default dns.lookup (all addresses). */
  resolve?: (host: string) => Promise<string[]>;
}

/** Decides which targets an agent may dial. Deny by default. */
export interface AllowList {
  readonly rules: readonly AllowRule[];
  /**
   * Resolves the target's host (if it is a name) and returns the address to
   * dial, or throws `ERR_DIAL_DENIED`. Every resolved address must be allowed,
   * and the checked address is the one dialled (no second lookup).
   */
  check(target: Target): Promise<Target>;
}

/** Builds an allow list from `--allow` rules. Unix socket targets are always denied. */
export function createAllowList(rules: readonly string[], options: AllowListOptions = {}): AllowList {
  const parsed = rules.map(parseAllowRule);
  const resolve = options.resolve ?? (async (host: string) => (await lookup(host, { all: true })).map((a) => a.address));
  const allowed = (ip: string, port: number): boolean =>
    parsed.some((r) => port >= r.fromPort && port <= r.toPort && cidrContains(r.cidr, ip));
  return {
    rules: parsed,
    async check(target) {
      const denied = (why: string): SpokeError =>
        new SpokeError(
          'ERR_DIAL_DENIED',
          `The agent refuses ${formatTarget(target)}: ${why}. Add a matching --allow CIDR[:PORT[-PORT]] on the agent if it should be reachable.`,
          { target, hop: 'agent' },
        );
      if ('path' in target) throw denied('unix sockets are never allowed through an agent');
      if (parsed.length === 0) throw denied('the agent has no --allow rules (it denies everything)');
      let addresses: string[];
      if (isIP(target.host) !== 0) addresses = [target.host];
      else {
        try {
          addresses = await resolve(target.host);
        } catch (err) {
          throw SpokeError.from(err, { target, hop: 'agent' });
        }
      }
      if (addresses.length === 0)
        throw new SpokeError('ERR_DIAL_UNREACHABLE', `${target.host} resolves to no address on the agent.`, { target, hop: 'agent' });
      const bad = addresses.find((a) => !allowed(a, target.port));
      if (bad !== undefined)
        throw denied(`${target.host === bad ? bad : `${target.host} resolves to ${bad}, which`} is outside the allow list`);
      return { host: addresses[0] as string, port: target.port };
    },
  };
}
