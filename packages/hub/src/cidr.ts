import { isIP } from 'node:net';
import { SpokeError } from '@spoke/transport-core';

/** An IPv4 or IPv6 network. */
export interface Cidr {
  family: 4 | 6;
  /** Network address as a number (bigint for both families, for one code path). */
  network: bigint;
  prefix: number;
  /** As written, normalised: `10.0.0.0/8`. */
  text: string;
}

/** Parses an IPv4/IPv6 address into a bigint; undefined if it is not an IP. */
export function ipToBigInt(ip: string): { family: 4 | 6; value: bigint } | undefined {
  const family = isIP(ip);
  if (family === 4) {
    return { family: 4, value: ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  }
  if (family === 6) {
    let text = ip.toLowerCase();
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
      const n = ipToBigInt(v4[1] as string)?.value ?? 0n;
      text = text.slice(0, -(v4[1] as string).length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head = '', tail = ''] = text.split('::');
    const h = head ? head.split(':') : [];
    const t = text.includes('::') ? (tail ? tail.split(':') : []) : [];
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
  }
  return undefined;
}

/** Parses `10.0.0.0/8`, `fd00::/64` or a bare address (a /32 or /128). Throws ERR_BAD_OPTION. */
export function parseCidr(text: string): Cidr {
  const [addr = '', prefixText] = text.split('/');
  const ip = ipToBigInt(addr);
  if (!ip) throw new SpokeError('ERR_BAD_OPTION', `"${text}" is not a CIDR (e.g. 10.0.0.0/8 or fd00::/64).`);
  const bits = ip.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
    throw new SpokeError('ERR_BAD_OPTION', `"${text}" has an invalid prefix length (0..${bits}).`);
  }
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { family: ip.family, network: ip.value & mask, prefix, text: `${addr}/${prefix}` };
}

/** Whether `ip` lies inside `cidr`. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const v = ipToBigInt(ip);
  if (!v || v.family !== cidr.family) return false;
  const bits = cidr.family === 4 ? 32 : 128;
  const mask = cidr.prefix === 0 ? 0n : ((1n << BigInt(cidr.prefix)) - 1n) << BigInt(bits - cidr.prefix);
  return (v.value & mask) === cidr.network;
}
