import { describe, expect, it } from 'vitest';
import { proxyFailureCode } from './errors.js';
import { checkHeaders, connectRequest } from './http-connect.js';

describe('CONNECT request and answers', () => {
  it('writes the authority with brackets for IPv6 and the headers in order', () => {
    expect(connectRequest({ host: '::1', port: 10250 }, { 'Proxy-Authorization': 'Basic eDp5' })).toBe(
      'CONNECT [::1]:10250 HTTP/1.1\r\nHost: [::1]:10250\r\nProxy-Authorization: Basic eDp5\r\n\r\n',
    );
    expect(connectRequest({ host: 'node-1', port: 443 }, {})).toBe('CONNECT node-1:443 HTTP/1.1\r\nHost: node-1:443\r\n\r\n');
  });

  it('rejects header names that are not tokens without echoing values', () => {
    expect(() => checkHeaders({ 'Bad Name': 'x' })).toThrow(/not a valid HTTP header name/);
    let message = '';
    try {
      checkHeaders({ 'Proxy-Authorization': 'Bearer secret\r\nX: y' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/Proxy-Authorization must be a single-line/);
    expect(message).not.toContain('secret');
  });

  it.each([
    [{ 'x-spoke-error-code': 'ERR_DIAL_REFUSED' }, 'ERR_DIAL_REFUSED'],
    [{ 'x-spoke-error-code': 'ERR_INTERNAL' }, 'ERR_PROXY_STATUS'],
    [{ 'x-squid-error': 'ERR_CONNECT_FAIL 111' }, 'ERR_DIAL_REFUSED'],
    [{ 'x-squid-error': 'ERR_CONNECT_FAIL 110' }, 'ERR_DIAL_TIMEOUT'],
    [{ 'x-squid-error': 'ERR_DNS_FAIL 0' }, 'ERR_DIAL_UNREACHABLE'],
    [{ 'x-squid-error': 'ERR_ACCESS_DENIED 0' }, 'ERR_DIAL_DENIED'],
    [{}, 'ERR_PROXY_STATUS'],
  ])('maps %o to %s', (headers, code) => {
    expect(proxyFailureCode(new Map(Object.entries(headers)))).toBe(code);
  });
});
