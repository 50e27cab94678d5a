import { isIP } from 'node:net';
import { parseCidr } from './cidr.js';
import { SpokeError } from './errors.js';

/**
 * What an agent says it serves, in Konnectivity's vocabulary
 * (`--agent-identifiers`, spoke's `--identifiers`).
 */
export interface AgentIdentifiers {
  host: string[];
  ipv4: string[];
  ipv6: string[];
  cidr: string[];
  defaultRoute: boolean;
}

const KEYS = new Set(['host', 'ipv4', 'ipv6', 'cidr', 'default-route']);

/**
 * Parses the query-string form
 * `host=node-1&ipv4=10.0.0.5&ipv6=fd00::5&cidr=10.0.0.0/24&default-route=true`.
 * Keys may repeat, and a value may list several comma-separated entries.
 * `default-route` is read from its first value as Go's `strconv.ParseBool`
 * reads it. Strict (an agent checking its own flags, as upstream's agent
 * does): unknown keys and malformed addresses are `ERR_BAD_OPTION`. Lenient
 * (a server reading what an agent announced, as upstream's server does):
 * unknown keys and malformed values are skipped.
 */
export function parseAgentIdentifiers(text: string, options: { strict?: boolean } = {}): AgentIdentifiers {
  const strict = options.strict ?? true;
  const ids: AgentIdentifiers = { host: [], ipv4: [], ipv6: [], cidr: [], defaultRoute: false };
  let sawDefault = false;
  for (const [key, raw] of new URLSearchParams(text)) {
    if (!KEYS.has(key)) {
      if (strict) throw bad(text, `unknown identifier "${key}"`);
      continue;
    }
    if (key === 'default-route') {
      if (!sawDefault) ids.defaultRoute = ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw);
      sawDefault = true;
      continue;
    }
    for (const value of raw.split(',').map((v) => v.trim())) {
      if (value === '') continue;
      const problem = invalid(key, value);
      if (problem !== undefined) {
        if (strict) throw bad(text, problem);
        continue;
      }
      ids[key as 'host' | 'ipv4' | 'ipv6' | 'cidr'].push(value);
    }
  }
  return ids;
}

function invalid(key: string, value: string): string | undefined {
  if (key === 'ipv4' && isIP(value) !== 4) return `ipv4=${value} is not an IPv4 address`;
  if (key === 'ipv6' && isIP(value) !== 6) return `ipv6=${value} is not an IPv6 address`;
  if (key === 'cidr') {
    try {
      parseCidr(value);
    } catch {
      return `cidr=${value} is not a CIDR`;
    }
  }
  return undefined;
}

function bad(text: string, why: string): SpokeError {
  return new SpokeError(
    'ERR_BAD_OPTION',
    `Invalid agent identifiers ${JSON.stringify(text)}: ${why}. Use host=, ipv4=, ipv6=, cidr= and default-route=true joined by &.`,
  );
}
