import { isIP } from 'node:net';
import { SpokeError } from '@spoke/transport-core';
import { parseCidr, type Cidr } from './cidr.js';

/** What an agent says it serves, in Konnectivity's identifier vocabulary. */
export interface AgentIdentifiers {
  hosts: string[];
  ipv4: string[];
  ipv6: string[];
  cidrs: Cidr[];
  defaultRoute: boolean;
}

/**
 * Parses Konnectivity's query-string form: `host=node-1&ipv4=10.0.0.5&ipv6=fd00::5&cidr=10.0.0.0/24&default-route=true`
 * (keys may repeat; values may also be comma-separated). Unknown keys are an error.
 */
export function parseIdentifiers(text: string): AgentIdentifiers {
  const ids: AgentIdentifiers = { hosts: [], ipv4: [], ipv6: [], cidrs: [], defaultRoute: false };
  if (text.trim() === '') return ids;
  for (const [key, raw] of new URLSearchParams(text)) {
    for (const value of raw
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean)) {
      switch (key) {
        case 'host':
          ids.hosts.push(value.toLowerCase());
          break;
        case 'ipv4':
          if (isIP(value) !== 4) throw bad(text, `ipv4=${value} is not an IPv4 address`);
          ids.ipv4.push(value);
          break;
        case 'ipv6':
          if (isIP(value) !== 6) throw bad(text, `ipv6=${value} is not an IPv6 address`);
          ids.ipv6.push(value);
          break;
        case 'cidr':
          ids.cidrs.push(parseCidr(value));
          break;
        case 'default-route':
          ids.defaultRoute = value === 'true';
          break;
        default:
          throw bad(text, `unknown identifier "${key}"`);
      }
    }
  }
  return ids;
}

function bad(text: string, why: string): SpokeError {
  return new SpokeError(
    'ERR_BAD_OPTION',
    `Invalid agent identifiers "${text}": ${why}. Use host=, ipv4=, ipv6=, cidr= and default-route=true joined by &.`,
  );
}
