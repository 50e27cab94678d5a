import type { Duplex } from 'node:stream';
import {
  SpokeError,
  dialTarget,
  formatTarget,
  isUnixTarget,
  parseTarget,
  viaOrDirect,
  type Dialer,
  type DialOptions,
  type Target,
  type ViaOption,
} from '@spoke/transport-core';
import { checkTimeout } from '@spoke/transport-core/utils';
import { checkHeaders, httpConnect } from './http-connect.js';
import { createTlsDialer } from './tls-dialer.js';
import type { TlsOptions } from './tls-material.js';

/** Options of {@link createHttpConnectDialer}. */
export interface HttpConnectDialerOptions extends ViaOption {
  /** Where the proxy listens: `"host:port"`, `"[v6]:port"`, `"unix:/path"` or a Target. Required. */
  proxy: Target | string;
  /**
   * Speak TLS to the proxy (an https proxy), verified like {@link createTlsDialer}:
   * CA bundle, client certificate for mTLS, pins; files re-read on rotation.
   * `true` means TLS with the system CA store. Default: plain TCP.
   */
  tls?: TlsOptions | boolean;
  /** Extra request headers, e.g. `{ 'Proxy-Authorization': 'Basic …' }`. Never printed. */
  headers?: Readonly<Record<string, string>>;
  /** Receives the warning of `tls.insecureSkipVerify`. Default: `process.emitWarning`. */
  warn?: (message: string) => void;
  /** Default `timeoutMs` (proxy connection, TLS and the CONNECT answer) for dials that don't set one. */
  timeoutMs?: number;
}

/**
 * Tunnels through an HTTP proxy with `CONNECT host:port HTTP/1.1`. The proxy
 * is reached over TCP, TLS (mTLS) or a unix socket, directly or through `via`.
 * A 2xx answer yields the tunnelled stream (bytes the proxy sent after its
 * answer are kept); another answer is a `ProxyStatusError` (`ERR_PROXY_STATUS`
 * with the status and the proxy's text, or the dial code the proxy named in
 * `X-Spoke-Error-Code` / Squid's `X-Squid-Error`); an oversized or malformed
 * answer is `ERR_PROTOCOL`. Only `host:port` targets can be tunnelled.
 */
export function createHttpConnectDialer(options: HttpConnectDialerOptions): Dialer {
  const defaultTimeout = checkTimeout('timeoutMs', options.timeoutMs);
  let proxy: Target;
  try {
    proxy = parseTarget(options.proxy);
  } catch (err) {
    throw new SpokeError('ERR_BAD_OPTION', `The proxy option is not a valid address: ${(err as Error).message}`, { cause: err });
  }
  const headers = { ...(options.headers ?? {}) };
  checkHeaders(headers);
  const proxyName = formatTarget(proxy);
  const hop = `http-connect ${proxyName}`;
  const toProxy: Dialer =
    options.tls === undefined || options.tls === false
      ? viaOrDirect(options.via)
      : createTlsDialer({
          ...(options.tls === true ? {} : options.tls),
          ...(options.via ? { via: options.via } : {}),
          ...(options.warn ? { warn: options.warn } : {}),
        });
  let closed = false;

  return {
    kind: 'http-connect',
    dial(input: Target | string, dialOptions?: DialOptions) {
      return dialTarget<Duplex>(
        input,
        { timeoutMs: defaultTimeout, ...dialOptions },
        hop,
        () => closed,
        async (target, signal) => {
          // Checked before the proxy is dialled, so a unix target costs no connection.
          if (isUnixTarget(target)) {
            throw new SpokeError(
              'ERR_BAD_TARGET',
              `An HTTP CONNECT proxy reaches host:port targets only, not unix:${target.path}. Dial the socket directly or through a dialer that can.`,
              { target, hop },
            );
          }
          const stream = await toProxy.dial(proxy, { signal });
          return httpConnect(stream, { target, proxy: proxyName, hop }, headers, signal);
        },
      );
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
