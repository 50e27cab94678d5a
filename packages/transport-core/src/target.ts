import { isIP } from 'node:net';
import { SpokeError } from './errors.js';

/** A TCP endpoint. `host` is a name, an IPv4 address or a bare IPv6 address (no brackets). */
export interface TcpTarget {
  host: string;
  port: number;
}

/** A unix domain socket. */
export interface UnixTarget {
  path: string;
}

/** Where a dial goes: a TCP host/port or a unix socket path. */
export type Target = TcpTarget | UnixTarget;

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

const FORMS = 'Use "host:port", "[v6addr]:port" or "unix:/path/to.sock".';

/** True when `t` is a unix socket target. */
export function isUnixTarget(t: Target): t is UnixTarget {
  return 'path' in t;
}

/**
 * Parses and validates a target. Accepts `host:port`, `[v6]:port`, `unix:/path`
 * or an already structured {@link Target}; anything else throws a SpokeError
 * with code `ERR_BAD_TARGET` (never a TypeError).
 */
export function parseTarget(input: Target | string): Target {
  if (typeof input === 'string') return parseTargetString(input);
  if (typeof input !== 'object' || input === null) {
    throw bad(String(input), 'a target must be a string or an object');
  }
  if ('path' in input) {
    const { path } = input as { path: unknown };
    if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
      throw bad(JSON.stringify(input), 'the unix socket path must be a non-empty string without NUL bytes');
    }
    return { path };
  }
  const { host, port } = input as { host?: unknown; port?: unknown };
  if (typeof host !== 'string') throw bad(JSON.stringify(input), 'the host must be a string');
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  checkHost(bare, JSON.stringify(input));
  return { host: bare, port: checkPort(port, JSON.stringify(input)) };
}

function parseTargetString(s: string): Target {
  if (s.startsWith('unix:')) {
    const path = s.slice('unix:'.length);
    if (path.length === 0 || path.includes('\0')) throw bad(s, 'the unix socket path is empty');
    return { path };
  }
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') throw bad(s, 'an IPv6 address must be written "[addr]:port"');
    host = s.slice(1, close);
    portText = s.slice(close + 2);
    if (isIP(host) !== 6) throw bad(s, `"${host}" is not an IPv6 address`);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw bad(s, 'the port is missing');
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) throw bad(s, 'an IPv6 address needs brackets, e.g. "[::1]:443"');
    checkHost(host, s);
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(s, `"${portText}" is not a port number`);
  return { host, port: checkPort(Number(portText), s) };
}

function checkHost(host: string, shown: string): void {
  if (host.length === 0) throw bad(shown, 'the host is empty');
  if (isIP(host) !== 0) return;
  if (!HOSTNAME.test(host)) throw bad(shown, `"${host}" is not a valid host name or IP address`);
}

function checkPort(port: unknown, shown: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw bad(shown, 'the port must be an integer from 1 to 65535');
  }
  return port;
}

function bad(shown: string, why: string): SpokeError {
  return new SpokeError('ERR_BAD_TARGET', `Invalid target ${JSON.stringify(shown)}: ${why}. ${FORMS}`);
}

/** Formats a target the way {@link parseTarget} reads it back. */
export function formatTarget(t: Target): string {
  if ('path' in t) return `unix:${t.path}`;
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

/** Whether `host` (a name or an address, without brackets) can only be this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
