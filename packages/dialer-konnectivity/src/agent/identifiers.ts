import { isIP } from 'node:net';
import { SpokeError } from '@spoke/transport-core';

/** Parsed `--agent-identifiers` (a URL query string, repeated keys allowed). */
export interface AgentIdentifiers {
  host: string[];
  ipv4: string[];
  ipv6: string[];
  cidr: string[];
  defaultRoute: boolean;
}

const KEYS = new Set(['host', 'ipv4', 'ipv6', 'cidr', 'default-route']);

/**
 * Parses agent identifiers as upstream does: unknown keys are an error on the
 * agent (the server ignores them); `default-route` is a bool from its first value.
 * `strict=false` is the server's lenient reading.
 */
export function parseAgentIdentifiers(text: string, strict = true): AgentIdentifiers {
  const out: AgentIdentifiers = { host: [], ipv4: [], ipv6: [], cidr: [], defaultRoute: false };
  const q = new URLSearchParams(text);
  let sawDefault = false;
  for (const [key, value] of q) {
    if (!KEYS.has(key)) {
      if (strict)
        throw new SpokeError(
          'ERR_BAD_OPTION',
          `Unknown agent identifier ${JSON.stringify(key)} in ${JSON.stringify(text)}; use host, ipv4, ipv6, cidr or default-route.`,
        );
      continue;
    }
    if (key === 'default-route') {
      if (!sawDefault)
        out.defaultRoute = value === 'true' || value === '1' || value === 't' || value === 'T' || value === 'TRUE' || value === 'True';
      sawDefault = true;
    } else if (key === 'ipv4' && strict && isIP(value) !== 4) {
      throw new SpokeError('ERR_BAD_OPTION', `Agent identifier ipv4=${value} is not an IPv4 address.`);
    } else {
      out[key as 'host' | 'ipv4' | 'ipv6' | 'cidr'].push(value);
    }
  }
  return out;
}
