import type net from 'node:net';
import type { Dialer } from '../dialer.js';
import { dialForHttp } from './dial-for-http.js';

/** The options undici passes to a custom `connect` function. */
export interface UndiciConnectOptions {
  hostname: string;
  host?: string;
  protocol: string;
  port: string;
  servername?: string;
  localAddress?: string | null;
  httpSocket?: unknown;
}

/** undici's connector callback. */
export type UndiciConnectCallback = (...args: [null, net.Socket] | [Error, null]) => void;

/** Extra TLS options for https origins (undici passes none of its own here). */
export interface UndiciConnectTlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
}

/**
 * A `connect` function for undici (`new Agent({ connect })`, `new Client(url, { connect })`):
 * every connection undici opens is dialled through `dialer`; https origins get
 * a verified TLS handshake on top.
 */
export function createUndiciConnect(
  dialer: Dialer,
  tlsOptions: UndiciConnectTlsOptions = {},
): (options: UndiciConnectOptions, callback: UndiciConnectCallback) => void {
  return (options, callback) => {
    const secure = options.protocol === 'https:';
    dialForHttp(
      dialer,
      { ...tlsOptions, hostname: options.hostname, port: options.port, servername: options.servername ?? null },
      secure,
    ).then(
      // undici drives the socket only through Duplex members; the cast is its type, not a requirement.
      (s) => callback(null, s as net.Socket),
      (e: Error) => callback(e, null),
    );
  };
}
