import { describe, expect, it } from 'vitest';
import { parseAgentIdentifiers } from '@spoke/transport-core/utils';
import { agentCidrs, BackendManager, type Backend } from './backends.js';

function backend(agentId: string, idents = ''): Backend {
  const identifiers = parseAgentIdentifiers(idents, { strict: false });
  return { agentId, identifiers, call: {} as Backend['call'], draining: false, cidrs: agentCidrs(identifiers.cidr) };
}

describe('BackendManager (proxy strategies)', () => {
  it('prefers agents that are not draining, and falls back to draining ones', () => {
    const m = new BackendManager(['default']);
    const a = backend('a');
    const b = backend('b');
    m.add(a);
    m.add(b);
    a.draining = true;
    for (let i = 0; i < 20; i++) expect(m.pick('10.0.0.1:80')?.agentId).toBe('b');
    m.remove(b);
    expect(m.pick('10.0.0.1:80')?.agentId).toBe('a');
  });

  it('routes destHost by exact host/ipv4/ipv6 match, then falls through to the next strategy', () => {
    const m = new BackendManager(['destHost', 'defaultRoute']);
    m.add(backend('n1', 'host=node1&ipv4=10.0.0.5'));
    m.add(backend('v6', 'ipv6=fd00::5'));
    m.add(backend('gw', 'default-route=true'));
    expect(m.pick('node1:10250')?.agentId).toBe('n1');
    expect(m.pick('10.0.0.5:10250')?.agentId).toBe('n1');
    expect(m.pick('[fd00::5]:443')?.agentId).toBe('v6');
    expect(m.pick('192.0.2.1:80')?.agentId).toBe('gw');
  });

  it('routes destCIDR (spoke) by the agent cidr identifiers', () => {
    const m = new BackendManager(['destCIDR']);
    m.add(backend('lan', 'cidr=10.1.0.0/16'));
    expect(m.pick('10.1.2.3:80')?.agentId).toBe('lan');
    expect(m.pick('10.2.2.3:80')).toBeUndefined();
    // An IPv4-mapped IPv6 spelling is the IPv4 address it carries.
    expect(m.pick('[::ffff:10.1.2.3]:80')?.agentId).toBe('lan');
    m.add(backend('odd', 'cidr=not-a-cidr'));
    expect(m.pick('10.2.2.3:80')).toBeUndefined();
    expect(m.ready()).toBe(true);
  });

  it('is ready only when the first strategy has a backend', () => {
    const m = new BackendManager(['destHost', 'default']);
    m.add(backend('plain'));
    expect(m.ready()).toBe(false);
    m.add(backend('named', 'host=x'));
    expect(m.ready()).toBe(true);
  });
});
