import type tls from 'node:tls';
import { dialTarget, isUnixTarget, viaOrDirect, type Dialer, type DialOptions, type Target, type ViaOption } from '@spoke/transport-core';
import { checkTimeout } from '@spoke/transport-core/utils';
import { createTlsMaterial, type TlsOptions } from './tls-material.js';
import { secureStream } from './tls-stream.js';

/** Options of {@link createTlsDialer}. */
export interface TlsDialerOptions extends TlsOptions, ViaOption {
  /** Receives the one-time warning printed when `insecureSkipVerify` is on. Default: `process.emitWarning`. */
  warn?: (message: string) => void;
  /** Default `timeoutMs` (TCP connect plus handshake) for dials that don't set one. Default: none. */
  timeoutMs?: number;
}

/** The text of the `insecureSkipVerify` warning. */
export const INSECURE_WARNING =
  'TLS certificate verification is OFF (insecureSkipVerify): anyone on the path can impersonate the server. Pass a CA bundle (ca/caFile) or a pin instead.';

/**
 * TLS to the target itself, the way kube-apiserver reaches a kubelet: a TCP
 * (or unix socket, or `via` dialer) stream, then a TLS handshake that is
 * verified by default against `ca`/`caFile` (or the system store), the dialled
 * name (or `servername`), the validity dates, and optionally an SPKI `pin`.
 * Client certificates give mTLS. Files are re-read when they change, so a
 * rotated CA or client certificate is used by the next dial.
 *
 * Certificate problems are SpokeErrors `ERR_CERT_UNTRUSTED`,
 * `ERR_CERT_HOSTNAME`, `ERR_CERT_EXPIRED` and `ERR_CERT_PIN` naming the
 * presented certificate; a server refusing our client certificate (or its
 * absence) gives `ERR_AUTH_FAILED`.
 *
 * For a unix socket target the name checked is `servername`, else `localhost`.
 */
export function createTlsDialer(options: TlsDialerOptions = {}): Dialer {
  const defaultTimeout = checkTimeout('timeoutMs', options.timeoutMs);
  const { via, warn, timeoutMs: _t, ...tlsOptions } = options;
  const material = createTlsMaterial(tlsOptions);
  const transport = viaOrDirect(via);
  if (options.insecureSkipVerify) (warn ?? emitWarning)(INSECURE_WARNING);
  let closed = false;

  return {
    kind: 'tls',
    dial(input: Target | string, dialOptions?: DialOptions) {
      return dialTarget<tls.TLSSocket>(
        input,
        { timeoutMs: defaultTimeout, ...dialOptions },
        'tls',
        () => closed,
        async (target, signal) => {
          const tlsClient = await material.resolve();
          const raw = await transport.dial(target, { signal });
          const host = isUnixTarget(target) ? (tlsClient.servername ?? 'localhost') : target.host;
          return secureStream(raw, { target, host, hop: 'tls', hasClientCert: material.hasClientCert }, tlsClient, signal);
        },
      );
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

function emitWarning(message: string): void {
  process.emitWarning(message, { code: 'SPOKE_INSECURE_SKIP_VERIFY' });
}
