import { describe, expect, it } from 'vitest';
import { parseAgentIdentifiers } from '@spoke/transport-core/utils';
import { bearerToken, tokenMatches } from './auth.js';
import { agentRoutes, route, type RoutableAgent } from './router.js';

// CIDRs, allow lists and identifier parsing are @spoke/transport-core's (tested in its shared-helpers.spec.ts).

const agent = (id: string, ids: string, load = 0, draining = false): RoutableAgent => ({
  id,
  routes: agentRoutes(parseAgentIdentifiers(ids)),
  load,
  draining,
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
  it('matches host names in any case and addresses in any spelling', () => {
    const named = [agent('named', 'host=Node-1&ipv4=10.0.0.5&ipv6=fd00::5'), agent('other', '')];
    expect(route(named, 'NODE-1')).toEqual({ agent: named[0], reason: 'host' });
    expect(route(named, 'fd00:0:0::5')?.agent.id).toBe('named');
    expect(route(named, '::ffff:10.0.0.5')?.agent.id).toBe('named');
    expect(route(named, '10.0.0.6')).toEqual({ agent: named[0], reason: 'any' });
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
