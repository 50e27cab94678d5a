import { isIP } from 'node:net';
import { isSpokeError, parseTarget, type Target } from '@spoke/transport-core';
import { UsageError } from './errors.js';

/** A local address to listen on. Port 0 picks a free port. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** One `-L [bind:]port:host:port` forwarding. */
export interface ForwardSpec {
  listen: ListenAddress;
  target: Target;
}

/** Listeners bind to loopback unless told otherwise, so a forward is never exposed by accident. */
export const DEFAULT_BIND = '127.0.0.1';

const forwardForms = (flag: string): string => `${flag} takes [bind:]port:host:hostport or [bind:]port:unix:/path`;

/**
 * Parses `HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT` for a listener (host
 * defaults to {@link DEFAULT_BIND}; `*` means every interface).
 */
export function parseListenAddress(text: string, flag: string, usage: string): ListenAddress {
  const result = readListen(text);
  if (typeof result === 'string')
    throw new UsageError(`--${flag} ${JSON.stringify(text)}: ${result}; use HOST:PORT, [v6]:PORT or PORT`, usage);
  return result;
}

function readListen(text: string): ListenAddress | string {
  let host = DEFAULT_BIND;
  let portText = text;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return 'an IPv6 address must be written [addr]:port';
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) return `${JSON.stringify(host)} is not an IPv6 address`;
  } else if (text.includes(':')) {
    const colon = text.lastIndexOf(':');
    host = text.slice(0, colon) || DEFAULT_BIND;
    portText = text.slice(colon + 1);
    if (host.includes(':')) return 'an IPv6 address needs brackets';
  }
  if (host === '*') host = '0.0.0.0';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)
    return `${JSON.stringify(portText)} is not a port number from 0 (any free port) to 65535`;
  return { host, port: Number(portText) };
}

/**
 * Parses an OpenSSH-style `-L` spec: `[bind:]port:host:hostport` or
 * `[bind:]port:unix:/path`. `bind` may be `[v6]` or `*`; the target part is
 * anything `parseTarget` accepts.
 */
export function parseForwardSpec(spec: string, usage: string, flag = '-L'): ForwardSpec {
  // Either "port:target" or "bind:port:target": try the form without a bind address first.
  const candidates: Array<[string, string]> = [];
  const short = /^(\d+):(.+)$/.exec(spec);
  const long = /^(\[[^\]]*\]|[^:[\]]*):(\d+):(.+)$/.exec(spec);
  if (short) candidates.push([`:${short[1]}`, short[2] ?? '']);
  if (long) candidates.push([`${long[1]}:${long[2]}`, long[3] ?? '']);
  let problem = 'it has no listen port';
  for (const [listenText, targetText] of candidates) {
    const listen = readListen(listenText);
    if (typeof listen === 'string') {
      problem = listen;
      continue;
    }
    try {
      return { listen, target: parseTarget(targetText) };
    } catch (err) {
      problem = isSpokeError(err) ? err.message : String(err);
    }
  }
  throw new UsageError(`${flag} ${JSON.stringify(spec)}: ${problem.replace(/\.$/, '')}. ${forwardForms(flag)}`, usage);
}

/** `host:port` for printing, with brackets around IPv6 hosts. */
export function formatListen(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
