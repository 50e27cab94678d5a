import type { Duplex } from 'node:stream';
import { SpokeError, type Dialer } from '@spoke/transport-core';
import { describe, expect, it } from 'vitest';
import { createRoutingDialer, parseCidr } from './route-dialer.js';

// A dialer that only records which hop a target was sent to.
function recorder(name: string, log: string[]): Dialer {
  return {
    kind: name,
    dial: async (target) => {
      log.push(`${name} ${typeof target === 'string' ? target : JSON.stringify(target)}`);
      throw new SpokeError('ERR_DIAL_REFUSED', 'recorded only');
    },
    close: async () => {},
  };
}

async function hopFor(dialer: Dialer, target: string, log: string[]): Promise<string | undefined> {
  await dialer.dial(target).catch((): Duplex | undefined => undefined);
  return log.pop()?.split(' ')[0];
}

describe('createRoutingDialer', () => {
  const log: string[] = [];
  const routes = [
    { cidr: '10.0.0.0/8', ...pick('10.0.0.0/8'), dialer: recorder('wide', log) },
    { cidr: '10.1.0.0/16', ...pick('10.1.0.0/16'), dialer: recorder('narrow', log) },
    { cidr: 'fd00::/8', ...pick('fd00::/8'), dialer: recorder('v6', log) },
  ];
  const dialer = createRoutingDialer(routes, recorder('via', log));

  it('picks the most specific route containing the target IP', async () => {
    expect(await hopFor(dialer, '10.2.3.4:80', log)).toBe('wide');
    expect(await hopFor(dialer, '10.1.3.4:80', log)).toBe('narrow');
    expect(await hopFor(dialer, '[fd00::1]:443', log)).toBe('v6');
  });

  it('sends other addresses, host names and unix sockets through --via', async () => {
    expect(await hopFor(dialer, '192.168.1.1:80', log)).toBe('via');
    expect(await hopFor(dialer, 'node-1.internal:10250', log)).toBe('via');
    expect(await hopFor(dialer, 'unix:/run/x.sock', log)).toBe('via');
  });
});

describe('parseCidr', () => {
  it('accepts prefixes and single addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('10.0.0.7')).toEqual({ address: '10.0.0.7', prefix: 32, family: 'ipv4' });
    expect(parseCidr('fd00::/64')).toEqual({ address: 'fd00::', prefix: 64, family: 'ipv6' });
  });

  it.each(['10.0.0.0/33', 'fd00::/129', 'node-1/8', '10.0.0.0/8/1', '10.0.0.0/x'])('rejects %j with ERR_BAD_OPTION', (text) => {
    expect(() => parseCidr(text)).toThrow(expect.objectContaining({ code: 'ERR_BAD_OPTION' }));
  });
});

function pick(cidr: string): { prefix: number; family: 'ipv4' | 'ipv6' } {
  const { prefix, family } = parseCidr(cidr);
  return { prefix, family };
}
