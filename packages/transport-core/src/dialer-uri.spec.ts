import { describe, expect, it } from 'vitest';
import { createDialerRegistry, redactUri, type DialerScheme } from './dialer-uri.js';
import { createMemoryDialer } from './memory-dialer.js';
import type { Dialer } from './dialer.js';

const seen: string[] = [];
const fake: DialerScheme = {
  schemes: ['fake'],
  usage: 'fake://NAME',
  create(uri, ctx) {
    seen.push(`${uri.host} via ${ctx.via?.kind ?? 'direct'}`);
    const d: Dialer = { kind: `fake:${uri.host}`, dial: (t, o) => (ctx.via ?? createMemoryDialer()).dial(t, o), close: async () => {} };
    return d;
  },
};

describe('dialer registry', () => {
  it('chains hops, the first URI outermost', () => {
    seen.length = 0;
    const reg = createDialerRegistry([fake]);
    const d = reg.chain(['fake://a', 'fake://b'], { warn: () => {} });
    expect(d.kind).toBe('fake:b');
    expect(seen).toEqual(['a via direct', 'b via fake:a']);
  });

  it('defaults to direct TCP with no hops and for tcp://', () => {
    const reg = createDialerRegistry();
    expect(reg.chain([], { warn: () => {} }).kind).toBe('net');
    expect(reg.create('tcp://', { warn: () => {} }).kind).toBe('net');
  });

  it('rejects malformed and unknown URIs with ERR_BAD_URI listing the forms', () => {
    const reg = createDialerRegistry([fake]);
    for (const bad of ['not a uri', 'nope://x']) {
      const create = () => reg.create(bad, { warn: () => {} });
      expect(create).toThrowError(expect.objectContaining({ code: 'ERR_BAD_URI' }));
      expect(create).toThrowError('fake://NAME');
    }
    const withHost = () => reg.create('tcp://host:1', { warn: () => {} });
    expect(withHost).toThrowError(expect.objectContaining({ code: 'ERR_BAD_URI' }));
    expect(withHost).toThrowError('takes no host');
  });

  it('refuses a scheme registered twice', () => {
    expect(() => createDialerRegistry([fake, fake])).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });

  it('redacts secrets', () => {
    expect(redactUri('spoke+wss://u:hunter2@hub:1/?token=abc&token-file=/t&ca=/c')).toBe(
      'spoke+wss://u:***@hub:1/?token=***&token-file=%2Ft&ca=%2Fc',
    );
  });
});
