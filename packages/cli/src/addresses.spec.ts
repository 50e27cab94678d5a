import { describe, expect, it } from 'vitest';
import { parseForwardSpec, parseListenAddress } from './addresses.js';
import { UsageError } from './errors.js';

describe('parseForwardSpec', () => {
  it.each([
    ['8080:10.0.0.5:80', { host: '127.0.0.1', port: 8080 }, { host: '10.0.0.5', port: 80 }],
    ['0.0.0.0:8080:node-1:10250', { host: '0.0.0.0', port: 8080 }, { host: 'node-1', port: 10250 }],
    ['*:80:web:8080', { host: '0.0.0.0', port: 80 }, { host: 'web', port: 8080 }],
    ['[::1]:0:[fd00::5]:443', { host: '::1', port: 0 }, { host: 'fd00::5', port: 443 }],
    [':9000:h:1', { host: '127.0.0.1', port: 9000 }, { host: 'h', port: 1 }],
    ['0:unix:/run/app.sock', { host: '127.0.0.1', port: 0 }, { path: '/run/app.sock' }],
    ['localhost:7000:unix:/x.sock', { host: 'localhost', port: 7000 }, { path: '/x.sock' }],
  ])('%s', (spec, listen, target) => {
    expect(parseForwardSpec(spec, 'usage')).toEqual({ listen, target });
  });

  it.each(['8080', '8080:host', '99999:h:1', 'x:y:z', '1:2:3:4:5', '[::1:0:h:1', ''])('rejects %j with a usage error naming -L', (spec) => {
    expect(() => parseForwardSpec(spec, 'usage')).toThrow(UsageError);
    expect(() => parseForwardSpec(spec, 'usage')).toThrow(/-L/);
  });
});

describe('parseListenAddress', () => {
  it('defaults the host to loopback and accepts port 0', () => {
    expect(parseListenAddress('1080', 'socks5', '')).toEqual({ host: '127.0.0.1', port: 1080 });
    expect(parseListenAddress(':0', 'socks5', '')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('[::1]:3128', 'http', '')).toEqual({ host: '::1', port: 3128 });
  });

  it('names the flag in errors', () => {
    expect(() => parseListenAddress('::1:80', 'http', '')).toThrow(/--http/);
    expect(() => parseListenAddress('host:port', 'socks5', '')).toThrow(/--socks5/);
  });
});
