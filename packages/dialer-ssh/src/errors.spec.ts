import { describe, expect, it } from 'vitest';
import { SpokeError, type SpokeErrorCode } from '@spoke/transport-core';
import { mapChannelOpenError, mapClientError } from './errors.js';

const withFields = (message: string, fields: Record<string, unknown>): Error => Object.assign(new Error(message), fields);
const hop = 'ssh://ops@node-1:22';

describe('mapChannelOpenError', () => {
  const rows: Array<[string, Error, SpokeErrorCode]> = [
    [
      'administratively prohibited',
      withFields('(SSH) Channel open failure: administratively prohibited: open failed', { reason: 1 }),
      'ERR_DIAL_DENIED',
    ],
    ['connection refused', withFields('(SSH) Channel open failure: Connection refused', { reason: 2 }), 'ERR_DIAL_REFUSED'],
    ['unknown host', withFields('(SSH) Channel open failure: Name or service not known', { reason: 2 }), 'ERR_DIAL_UNREACHABLE'],
    ['no route', withFields('(SSH) Channel open failure: No route to host', { reason: 2 }), 'ERR_DIAL_UNREACHABLE'],
    ['timed out', withFields('(SSH) Channel open failure: Connection timed out', { reason: 2 }), 'ERR_DIAL_TIMEOUT'],
    ['other connect failure', withFields('(SSH) Channel open failure: ', { reason: 2 }), 'ERR_DIAL_FAILED'],
    ['unknown channel type', withFields('(SSH) Channel open failure: unknown channel type', { reason: 3 }), 'ERR_DIAL_DENIED'],
    ['resource shortage', withFields('(SSH) Channel open failure: no more sessions', { reason: 4 }), 'ERR_TOO_MANY_STREAMS'],
    ['connection gone', new Error('No response from server'), 'ERR_TUNNEL_CLOSED'],
  ];
  it.each(rows)('%s', (_name, err, code) => {
    const mapped = mapChannelOpenError(err, { host: '10.0.0.1', port: 80 }, hop);
    expect(mapped.code).toBe(code);
    expect(mapped.hop).toBe(hop);
    expect(mapped.target).toBe('10.0.0.1:80');
  });
});

describe('mapClientError', () => {
  const rows: Array<[string, Error, SpokeErrorCode]> = [
    ['auth', withFields('All configured authentication methods failed', { level: 'client-authentication' }), 'ERR_AUTH_FAILED'],
    ['handshake timeout', withFields('Timed out while waiting for handshake', { level: 'client-timeout' }), 'ERR_HANDSHAKE_TIMEOUT'],
    ['keepalive', withFields('Keepalive timeout', { level: 'client-timeout' }), 'ERR_TUNNEL_CLOSED'],
    ['no algorithm', withFields('Handshake failed: no matching cipher', { level: 'handshake' }), 'ERR_PROTOCOL'],
    ['lost before handshake', withFields('Connection lost before handshake', { level: 'protocol' }), 'ERR_TUNNEL_CLOSED'],
    ['refused', withFields('connect ECONNREFUSED', { level: 'client-socket', code: 'ECONNREFUSED' }), 'ERR_DIAL_REFUSED'],
    ['disconnect', withFields('Too many connections', { code: 11 }), 'ERR_TUNNEL_CLOSED'],
    ['dns', withFields('Error while looking up', { level: 'client-dns' }), 'ERR_DIAL_UNREACHABLE'],
  ];
  it.each(rows)('%s', (_name, err, code) => {
    expect(mapClientError(err, { hop }).code).toBe(code);
  });

  it('lists the methods the server offered and those tried', () => {
    const err = mapClientError(withFields('x', { level: 'client-authentication' }), {
      hop,
      serverMethods: ['publickey', 'password'],
      triedMethods: ['publickey'],
    });
    expect(err.message).toContain('accepts publickey, password');
    expect(err.message).toContain('tried publickey');
  });

  it('passes SpokeErrors through, adding the hop', () => {
    const mapped = mapClientError(new SpokeError('ERR_HOST_KEY_UNKNOWN', 'unknown'), { hop });
    expect(mapped.code).toBe('ERR_HOST_KEY_UNKNOWN');
    expect(mapped.hop).toBe(hop);
  });
});
