import { describe, expect, it } from 'vitest';
import { SpokeError } from './errors.js';
import { formatTarget, parseTarget } from './target.js';

describe('parseTarget', () => {
  it.each([
    ['example.com:443', { host: 'example.com', port: 443 }],
    ['127.0.0.1:80', { host: '127.0.0.1', port: 80 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
    ['[fe80::1:2]:1', { host: 'fe80::1:2', port: 1 }],
    ['node-1.cluster.local.:10250', { host: 'node-1.cluster.local.', port: 10250 }],
    ['unix:/run/konnectivity.sock', { path: '/run/konnectivity.sock' }],
  ])('reads %s', (input, want) => {
    expect(parseTarget(input)).toEqual(want);
    expect(parseTarget(formatTarget(want))).toEqual(want);
  });

  it('accepts structured targets and strips IPv6 brackets', () => {
    expect(parseTarget({ host: '[::1]', port: 22 })).toEqual({ host: '::1', port: 22 });
    expect(parseTarget({ path: '/tmp/x' })).toEqual({ path: '/tmp/x' });
  });

  it.each([
    ['', /port is missing/],
    ['host', /port is missing/],
    ['host:', /not a port/],
    ['host:0', /1 to 65535/],
    ['host:65536', /1 to 65535/],
    ['host:12ab', /not a port/],
    ['::1:80', /needs brackets/],
    ['[::1]80', /\[addr\]:port/],
    ['[nothex]:80', /not an IPv6/],
    ['bad_host!:80', /not a valid host/],
    [':80', /host is empty/],
    ['unix:', /path is empty/],
  ])('rejects %j with ERR_BAD_TARGET', (input, why) => {
    let caught: unknown;
    try {
      parseTarget(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SpokeError);
    expect((caught as SpokeError).code).toBe('ERR_BAD_TARGET');
    expect((caught as SpokeError).message).toMatch(why);
    expect((caught as SpokeError).message).toMatch(/Use "host:port"/);
  });

  it('rejects wrong types with ERR_BAD_TARGET, never a TypeError', () => {
    for (const bad of [null, undefined, 42, {}, { host: 1, port: 2 }, { host: 'a', port: '80' }, { path: '' }] as unknown[]) {
      expect(() => parseTarget(bad as string)).toThrowError(expect.objectContaining({ code: 'ERR_BAD_TARGET' }));
    }
  });
});
