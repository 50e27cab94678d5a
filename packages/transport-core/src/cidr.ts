import { BlockList, isIP } from 'node:net';
import { SpokeError } from './errors.js';

/** An IPv4 or IPv6 network, as `--allow`, `--route` and `cidr=` identifiers write it. */
export interface Cidr {
  /** The address part as written (`10.0.0.0`, `fd00::`). */
  address: string;
  /** Prefix length; a bare address is a /32 or /128. */
  prefix: number;
  family: 'ipv4' | 'ipv6';
  /** `ADDRESS/PREFIX`. */
  text: string;
}

/** Where a {@link Cidr} is checked: node's BlockList, which compares addresses as numbers. */
const blocks = new WeakMap<Cidr, BlockList>();

/**
 * Parses `a.b.c.d/n`, `v6::/n`, or a bare address (that host only). Throws
 * `ERR_BAD_OPTION` naming the accepted forms; `what` names the flag for the message.
 */
export function parseCidr(text: string, what = 'CIDR'): Cidr {
  const [address = '', prefixText, extra] = text.split('/');
  const version = isIP(address);
  const max = version === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (version === 0 || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `Invalid ${what} ${JSON.stringify(text)}: write ADDRESS/PREFIX such as 10.0.0.0/8 or fd00::/8 (a bare address means just that host).`,
    );
  }
  const family = version === 6 ? 'ipv6' : 'ipv4';
  const mapped = family === 'ipv6' && prefix >= 96 ? normaliseIp(address) : undefined;
  // A network inside ::ffff:0:0/96 is an IPv4 network: addresses there are checked as IPv4.
  const cidr: Cidr =
    mapped?.family === 'ipv4'
      ? { address: mapped.address, prefix: prefix - 96, family: 'ipv4', text: `${mapped.address}/${prefix - 96}` }
      : { address, prefix, family, text: `${address}/${prefix}` };
  const block = new BlockList();
  block.addSubnet(cidr.address, cidr.prefix, cidr.family);
  blocks.set(cidr, block);
  return cidr;
}

/**
 * Whether `ip` lies inside `cidr`. An IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.5`) is the IPv4 address it carries: it matches IPv4 rules
 * and no IPv6 rule, so no spelling of an address slips past a rule.
 */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const normal = normaliseIp(ip);
  if (normal === undefined || normal.family !== cidr.family) return false;
  let block = blocks.get(cidr);
  if (block === undefined) {
    block = new BlockList();
    block.addSubnet(cidr.address, cidr.prefix, cidr.family);
    blocks.set(cidr, block);
  }
  return block.check(normal.address, normal.family);
}

/**
 * An IP address in the family it really belongs to: brackets dropped, and an
 * IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, `::ffff:102:304`) turned into
 * its IPv4 address. Undefined for anything that is not an IP address.
 */
export function normaliseIp(ip: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const version = isIP(bare);
  if (version === 4) return { address: bare, family: 'ipv4' };
  if (version !== 6) return undefined;
  // The URL parser writes IPv6 in canonical form, mapped IPv4 tails in hex.
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return { address: bare, family: 'ipv6' };
  const hi = parseInt(mapped[1] as string, 16);
  const lo = parseInt(mapped[2] as string, 16);
  return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
}
