import { BlockList, isIP } from 'node:net';
import { SpokeError } from '@spoke/transport-core';

interface Rule {
  block: BlockList | undefined;
  host: string | undefined;
  from: number;
  to: number;
}

/**
 * An allow list of destinations, `CIDR[:PORT[-PORT]]`, `IP[:PORT[-PORT]]` or
 * `HOST[:PORT[-PORT]]` (IPv6 in brackets when a port follows). Upstream's
 * agent dials anything it can reach; this is spoke's optional restriction.
 */
export function createAllowList(entries: readonly string[]): (host: string, port: number) => boolean {
  const rules = entries.map(parseRule);
  return (host, port) => {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const family = isIP(bare);
    return rules.some((r) => {
      if (port < r.from || port > r.to) return false;
      if (r.host !== undefined) return r.host.toLowerCase() === bare.toLowerCase();
      return family !== 0 && (r.block?.check(bare, family === 6 ? 'ipv6' : 'ipv4') ?? false);
    });
  };
}

function parseRule(entry: string): Rule {
  const bad = (): SpokeError =>
    new SpokeError(
      'ERR_BAD_OPTION',
      `Invalid allow entry ${JSON.stringify(entry)}: use CIDR[:PORT[-PORT]], IP[:PORT[-PORT]] or HOST[:PORT[-PORT]], e.g. 10.0.0.0/8:10250 or [fd00::/8]:443.`,
    );
  let addr = entry;
  let ports = '';
  const v6 = /^\[([^\]]+)\](?::(.+))?$/.exec(entry);
  if (v6) {
    addr = v6[1] ?? '';
    ports = v6[2] ?? '';
  } else if ((entry.match(/:/g) ?? []).length === 1) {
    [addr, ports] = entry.split(':') as [string, string];
  }
  let from = 1;
  let to = 65535;
  if (ports !== '') {
    const m = /^(\d+)(?:-(\d+))?$/.exec(ports);
    if (!m) throw bad();
    from = Number(m[1]);
    to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || to > 65535 || from > to) throw bad();
  }
  const [ip, prefix] = addr.split('/') as [string, string | undefined];
  const family = isIP(ip);
  if (family === 0) {
    if (prefix !== undefined || !/^[a-z0-9.-]+$/i.test(ip)) throw bad();
    return { block: undefined, host: ip, from, to };
  }
  const block = new BlockList();
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (prefix === undefined) block.addAddress(ip, type);
  else {
    const bits = Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) throw bad();
    block.addSubnet(ip, bits, type);
  }
  return { block, host: undefined, from, to };
}
