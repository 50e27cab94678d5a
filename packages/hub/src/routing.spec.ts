import { describe, expect, it } from 'vitest';
import type { SpokeError } from '@spoke/transport-core';
import { cidrContains, parseCidr } from './cidr.js';
import { createAllowList, parseAllowRule } from './allowlist.js';
import { bearerToken, tokenMatches } from './auth.js';
import { parseIdentifiers } from './identifiers.js';
import { route, type RoutableAgent } from './router.js';

const agent = (id: string, ids: string, load = 0, draining = false): RoutableAgent => ({
  id,
  identifiers: parseIdentifiers(ids),
  load,
  draining,
});

describe('cidr', () => {
  it('matches IPv4 and IPv6 networks', () => {
    expect(cidrContains(parseCidr('10.0.0.0/8'), '10.200.3.4')).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/8'), '11.0.0.1')).toBe(false);
    expect(cidrContains(parseCidr('fd00::/64'), 'fd00::1:2')).toBe(true);
    expect(cidrContains(parseCidr('fd00::/64'), 'fd00:0:0:1::1')).toBe(false);
    expect(cidrContains(parseCidr('::ffff:10.0.0.0/104'), '::ffff:10.1.2.3')).toBe(true);
    expect(cidrContains(parseCidr('0.0.0.0/0'), '8.8.8.8')).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/8'), 'fd00::1')).toBe(false);
    expect(() => parseCidr('10.0.0.0/33')).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
    expect(() => parseCidr('nope/8')).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });
});

describe('identifiers', () => {
  it('reads Konnectivity query strings, repeated and comma-separated', () => {
    const ids = parseIdentifiers('host=Node-1&ipv4=10.0.0.5,10.0.0.6&ipv6=fd00::5&cidr=10.0.0.0/24&default-route=true');
    expect(ids.hosts).toEqual(['node-1']);
    expect(ids.ipv4).toEqual(['10.0.0.5', '10.0.0.6']);
    expect(ids.ipv6).toEqual(['fd00::5']);
    expect(ids.cidrs.map((c) => c.text)).toEqual(['10.0.0.0/24']);
    expect(ids.defaultRoute).toBe(true);
  });
  it('rejects unknown keys and bad addresses', () => {
    expect(() => parseIdentifiers('zone=a')).toThrowError(/unknown identifier "zone"/);
    expect(() => parseIdentifiers('ipv4=fd00::1')).toThrowError(/not an IPv4/);
  });
});

describe('router', () => {
  const agents = [
    agent('by-host', 'host=node-1&ipv4=10.0.0.5'),
    agent('wide', 'cidr=10.0.0.0/8'),
    agent('narrow', 'cidr=10.1.0.0/16'),
    agent('default', 'default-route=true'),
    agent('plain', ''),
  ];
  it('routes exact host/ip, then the most specific cidr, then default-route, then any', () => {
    expect(route(agents, 'node-1')?.agent.id).toBe('by-host');
    expect(route(agents, '10.0.0.5')?.agent.id).toBe('by-host');
    expect(route(agents, '10.1.2.3')).toEqual({ agent: agents[2], reason: 'cidr' });
    expect(route(agents, '10.2.2.3')?.agent.id).toBe('wide');
    expect(route(agents, '192.168.1.1')).toEqual({ agent: agents[3], reason: 'default-route' });
    expect(route([agents[4] as RoutableAgent], '192.168.1.1')).toEqual({ agent: agents[4], reason: 'any' });
    expect(route([], 'x')).toBeUndefined();
  });
  it('shares load among equals and uses draining agents only as a last resort', () => {
    const a = agent('a', 'host=n', 5);
    const b = agent('b', 'host=n', 1);
    expect(route([a, b], 'n')?.agent.id).toBe('b');
    const d = agent('d', 'host=n', 0, true);
    expect(route([d, a], 'n')?.agent.id).toBe('a');
    expect(route([d], 'n')?.agent.id).toBe('d');
    // A live "any" agent beats a draining exact match.
    expect(route([d, agent('e', '')], 'n')?.agent.id).toBe('e');
  });
});

describe('allow list', () => {
  it('parses CIDR[:PORT[-PORT]] in both families', () => {
    expect(parseAllowRule('10.0.0.0/24:8000-9000')).toMatchObject({ fromPort: 8000, toPort: 9000 });
    expect(parseAllowRule('10.0.0.5:22')).toMatchObject({ fromPort: 22, toPort: 22 });
    expect(parseAllowRule('[fd00::/64]:443')).toMatchObject({ fromPort: 443, toPort: 443 });
    expect(parseAllowRule('fd00::/64')).toMatchObject({ fromPort: 1, toPort: 65535 });
    for (const bad of ['10.0.0.0/8:0', '10.0.0.0/8:9-1', 'x:1', '[fd00::/64'])
      expect(() => parseAllowRule(bad)).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });

  it('denies by default, resolves names and checks every address, dials the checked address', async () => {
    const resolve = async (h: string): Promise<string[]> => ({ 'ok.test': ['10.0.0.7'], 'mixed.test': ['10.0.0.8', '8.8.8.8'] })[h] ?? [];
    const list = createAllowList(['10.0.0.0/24:80-90'], { resolve });
    await expect(list.check({ host: 'ok.test', port: 80 })).resolves.toEqual({ host: '10.0.0.7', port: 80 });
    await expect(list.check({ host: '10.0.0.9', port: 91 })).rejects.toMatchObject({ code: 'ERR_DIAL_DENIED' });
    await expect(list.check({ host: 'mixed.test', port: 80 })).rejects.toMatchObject({
      code: 'ERR_DIAL_DENIED',
      message: expect.stringContaining('8.8.8.8'),
    });
    await expect(list.check({ path: '/run/docker.sock' })).rejects.toMatchObject({ code: 'ERR_DIAL_DENIED' });
    await expect(list.check({ host: 'none.test', port: 80 })).rejects.toMatchObject({ code: 'ERR_DIAL_UNREACHABLE' });
    const none = createAllowList([]);
    const err = await none.check({ host: '127.0.0.1', port: 1 }).catch((e: unknown) => e);
    expect((err as SpokeError).message).toMatch(/no --allow rules/);
  });
});

describe('auth', () => {
  it('reads bearer tokens and compares them in constant time', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(tokenMatches('abc', ['x', 'abc'])).toBe(true);
    expect(tokenMatches('abd', ['abc'])).toBe(false);
    expect(tokenMatches(undefined, ['abc'])).toBe(false);
    expect(tokenMatches('', [])).toBe(false);
  });
});
