import type { Duplex } from 'node:stream';
import { SpokeError, type Dialer } from '@spoke/transport-core';
import { parseCidr } from '@spoke/transport-core/utils';
import { describe, expect, it } from 'vitest';
import { createRoutingDialer } from './route-dialer.js';

// A dialer that only records which hop a target was sent to.
function recorder(name: string, log: string[]): Dialer {
  return {
    kind: name,
    dial: (target) => {
      log.push(`${name} ${typeof target === 'string' ? target : JSON.stringify(target)}`);
      return Promise.reject(new SpokeError('ERR_DIAL_REFUSED', 'recorded only'));
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
    { cidr: parseCidr('10.0.0.0/8'), dialer: recorder('wide', log) },
    { cidr: parseCidr('10.1.0.0/16'), dialer: recorder('narrow', log) },
    { cidr: parseCidr('fd00::/8'), dialer: recorder('v6', log) },
  ];
  const dialer = createRoutingDialer(routes, recorder('via', log));

  it('picks the most specific route containing the target IP', async () => {
    expect(await hopFor(dialer, '10.2.3.4:80', log)).toBe('wide');
    expect(await hopFor(dialer, '10.1.3.4:80', log)).toBe('narrow');
    expect(await hopFor(dialer, '[fd00::1]:443', log)).toBe('v6');
  });

  it('routes an IPv4-mapped IPv6 address as the IPv4 address it carries', async () => {
    expect(await hopFor(dialer, '[::ffff:10.1.3.4]:80', log)).toBe('narrow');
  });

  it('sends other addresses, host names and unix sockets through --via', async () => {
    expect(await hopFor(dialer, '192.168.1.1:80', log)).toBe('via');
    expect(await hopFor(dialer, 'node-1.internal:10250', log)).toBe('via');
    expect(await hopFor(dialer, 'unix:/run/x.sock', log)).toBe('via');
  });
});
