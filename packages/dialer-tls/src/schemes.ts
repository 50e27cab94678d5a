import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type tls from 'node:tls';
import { badUri, readUriFile, type DialerScheme } from '@spoke/transport-core';
import { createHttpConnectDialer } from './http-connect-dialer.js';
import { createTlsDialer } from './tls-dialer.js';
import type { TlsOptions } from './tls-material.js';

const TLS_PARAMS = ['ca', 'cert', 'key', 'servername', 'pin', 'insecure-skip-verify', 'min-version', 'alpn'];
const PROXY_PARAMS = ['proxy-authorization-file'];

const TLS_USAGE =
  'tls://?ca=FILE&cert=FILE&key=FILE&servername=NAME&pin=sha256:B64&insecure-skip-verify=true&min-version=TLSv1.3&alpn=h2,http/1.1    TLS to the target itself (verified)';
const CONNECT_USAGE = [
  'http-connect://[user:pass@]proxy:3128?proxy-authorization-file=FILE    HTTP CONNECT through a plain proxy',
  'http-connect+tls://proxy:3129?ca=FILE&cert=FILE&key=FILE&servername=NAME&pin=sha256:B64&proxy-authorization-file=FILE    ... through an https proxy (mTLS)',
  'http-connect+unix:///path/to/proxy.sock?proxy-authorization-file=FILE    ... through a proxy on a unix socket',
].join('\n');

/**
 * `tls://?ca=FILE&cert=FILE&key=FILE&servername=N&pin=sha256:B64&insecure-skip-verify=true`:
 * TLS to the target itself, over the previous hop (or direct TCP). Files are
 * paths (absolute or relative to the working directory) and are re-read when
 * they change. `pin` may repeat. `insecure-skip-verify=true` warns through the
 * registry's `warn`.
 */
export const tlsScheme: DialerScheme = {
  schemes: ['tls'],
  usage: TLS_USAGE,
  create(uri, context) {
    if (uri.host !== '' || (uri.pathname !== '' && uri.pathname !== '/')) {
      throw badUri(
        uri.href,
        'tls:// takes no host or path: TLS goes to the dialled target itself (put the options in the query)',
        TLS_USAGE,
      );
    }
    checkParams(uri, TLS_PARAMS, TLS_USAGE);
    return createTlsDialer({ ...tlsOptions(uri, TLS_USAGE), ...(context.via ? { via: context.via } : {}), warn: (m) => context.warn(m) });
  },
};

/**
 * `http-connect://`, `http-connect+tls://` and `http-connect+unix://`: HTTP
 * CONNECT through a proxy reached over TCP, TLS (with the same query options
 * as `tls://`) or a unix socket, itself reached over the previous hop.
 * Credentials come from `user:pass@` (Basic) or from
 * `proxy-authorization-file=FILE` (the whole header value, e.g. `Bearer …`).
 */
export const httpConnectScheme: DialerScheme = {
  schemes: ['http-connect', 'http-connect+tls', 'http-connect+unix'],
  usage: CONNECT_USAGE,
  create(uri, context) {
    const scheme = uri.protocol.slice(0, -1);
    const secure = scheme === 'http-connect+tls';
    checkParams(uri, secure ? [...TLS_PARAMS, ...PROXY_PARAMS] : PROXY_PARAMS, CONNECT_USAGE);
    let proxy: string;
    if (scheme === 'http-connect+unix') {
      if (uri.host !== '' || uri.pathname === '' || uri.pathname === '/') {
        throw badUri(uri.href, 'write the socket path after three slashes: http-connect+unix:///path/to/proxy.sock', CONNECT_USAGE);
      }
      proxy = `unix:${decodeURIComponent(uri.pathname)}`;
    } else {
      if (uri.hostname === '' || uri.port === '')
        throw badUri(uri.href, 'the proxy needs a host and a port, e.g. http-connect://proxy:3128', CONNECT_USAGE);
      if (uri.pathname !== '' && uri.pathname !== '/') throw badUri(uri.href, 'a proxy URI takes no path', CONNECT_USAGE);
      proxy = `${uri.hostname}:${uri.port}`;
    }
    const headers: Record<string, string> = {};
    const authFile = readUriFile(uri, 'proxy-authorization-file');
    if (authFile !== undefined && uri.username !== '') {
      throw badUri(uri.href, 'give the credentials either as user:pass@ or as proxy-authorization-file, not both', CONNECT_USAGE);
    }
    if (authFile !== undefined) headers['Proxy-Authorization'] = authFile.toString('utf8').trim();
    if (uri.username !== '') {
      const pair = `${decodeURIComponent(uri.username)}:${decodeURIComponent(uri.password)}`;
      headers['Proxy-Authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
    }
    return createHttpConnectDialer({
      proxy,
      headers,
      ...(secure ? { tls: tlsOptions(uri, CONNECT_USAGE) } : {}),
      ...(context.via ? { via: context.via } : {}),
      warn: (m) => context.warn(m),
    });
  },
};

function checkParams(uri: URL, allowed: readonly string[], usage: string): void {
  for (const key of new Set(uri.searchParams.keys())) {
    if (!allowed.includes(key)) {
      throw badUri(uri.href, `unknown parameter "${key}" (accepted: ${allowed.join(', ') || 'none'})`, usage);
    }
  }
}

function tlsOptions(uri: URL, usage: string): TlsOptions {
  const q = uri.searchParams;
  const file = (name: string): string | undefined => {
    const value = q.get(name);
    if (value === null || value === '') return undefined;
    const full = resolve(process.cwd(), value);
    try {
      statSync(full);
    } catch (err) {
      throw badUri(uri.href, `${name}=${value} (${full}) cannot be read: ${(err as { code?: string }).code ?? String(err)}`, usage);
    }
    return full;
  };
  const options: TlsOptions = {};
  const caFile = file('ca');
  const certFile = file('cert');
  const keyFile = file('key');
  if (caFile) options.caFile = caFile;
  if (certFile) options.certFile = certFile;
  if (keyFile) options.keyFile = keyFile;
  if ((certFile === undefined) !== (keyFile === undefined)) throw badUri(uri.href, 'cert and key go together', usage);
  const servername = q.get('servername');
  if (servername) options.servername = servername;
  // An unescaped "+" of base64 arrives as a space; base64url is accepted too.
  const pins = q.getAll('pin').map((p) => p.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/'));
  for (const pin of pins) {
    if (!/^sha256:[A-Za-z0-9+/]{43}=?$/.test(pin)) throw badUri(uri.href, `pin=${pin} is not sha256:<base64 of the SPKI digest>`, usage);
  }
  if (pins.length > 0) options.pin = pins.map((p) => (p.endsWith('=') ? p : `${p}=`));
  const insecure = q.get('insecure-skip-verify');
  if (insecure !== null) {
    if (insecure !== 'true' && insecure !== 'false') throw badUri(uri.href, 'insecure-skip-verify must be true or false', usage);
    options.insecureSkipVerify = insecure === 'true';
  }
  const minVersion = q.get('min-version');
  if (minVersion !== null) {
    if (!['TLSv1.2', 'TLSv1.3'].includes(minVersion)) throw badUri(uri.href, 'min-version must be TLSv1.2 or TLSv1.3', usage);
    options.minVersion = minVersion as tls.SecureVersion;
  }
  const alpn = q.get('alpn');
  if (alpn) options.alpn = alpn.split(',').filter(Boolean);
  return options;
}
