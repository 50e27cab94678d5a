import { SpokeError, formatTarget, isAbortError, type SpokeErrorCode, type SpokeErrorInit, type Target } from '@spoke/transport-core';
import { isClientCertRefusal } from '@spoke/transport-core/utils';

/**
 * The one place where foreign errors (OpenSSL alerts, file system errors,
 * proxy answers) become SpokeErrors for this package.
 */

interface MapInit {
  target?: Target | string;
  hop: string;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Maps an error seen on a TLS connection (during or after the handshake) to a
 * SpokeError. OpenSSL alerts that mean "your client certificate was refused"
 * become `ERR_AUTH_FAILED`; other `ERR_SSL_*` become `ERR_PROTOCOL`; the rest
 * goes through `SpokeError.from` (resets, refusals...). Abort errors pass through.
 */
export function mapTlsError(err: unknown, init: MapInit & { hasClientCert: boolean }): Error {
  if (isAbortError(err)) return err as Error;
  // connectTls wraps unknown handshake failures as ERR_INTERNAL; look at the OpenSSL code underneath.
  const inner = err instanceof SpokeError && err.code === 'ERR_INTERNAL' ? err.cause : err;
  if (err instanceof SpokeError && err.code !== 'ERR_INTERNAL') return SpokeError.from(err, init);
  const code = codeOf(inner);
  const where = init.target === undefined ? 'the server' : typeof init.target === 'string' ? init.target : formatTarget(init.target);
  if (isClientCertRefusal(code)) {
    const why = init.hasClientCert
      ? 'refused the client certificate we presented. Check that it is signed by a CA the server trusts, is not expired, and carries the client-auth usage'
      : 'requires a client certificate (mTLS) and we presented none. Pass cert and key (or certFile and keyFile)';
    return new SpokeError('ERR_AUTH_FAILED', `The TLS server at ${where} ${why} (${code}).`, { cause: inner, ...init });
  }
  if (code !== undefined && code.startsWith('ERR_SSL_')) {
    return new SpokeError(
      'ERR_PROTOCOL',
      `The TLS handshake with ${where} failed (${code}). Check that the port serves TLS and that both sides share a TLS version (minVersion) and ALPN protocol.`,
      { cause: inner, ...init },
    );
  }
  return SpokeError.from(inner, init);
}

/** A problem with one of this package's options (an unreadable file, a key that doesn't match its certificate...). */
export function badOption(message: string, init: SpokeErrorInit = {}): SpokeError {
  return new SpokeError('ERR_BAD_OPTION', message, init);
}

/** Codes a proxy may name explicitly (`X-Spoke-Error-Code`) for why it could not reach the target. */
const PROXY_NAMED_CODES: ReadonlySet<SpokeErrorCode> = new Set<SpokeErrorCode>([
  'ERR_DIAL_REFUSED',
  'ERR_DIAL_TIMEOUT',
  'ERR_DIAL_DENIED',
  'ERR_DIAL_UNREACHABLE',
  'ERR_DIAL_FAILED',
  'ERR_NO_ROUTE',
  'ERR_AUTH_FAILED',
]);

/**
 * The code a proxy's failure answer stands for. By default `ERR_PROXY_STATUS`;
 * a proxy can say why the upstream dial failed, and then the error carries the
 * matching dial code so callers (and `withRetry`) treat a refusal behind a proxy
 * like a direct one. Understood: spoke's `X-Spoke-Error-Code: ERR_DIAL_REFUSED`
 * and Squid's `X-Squid-Error: ERR_CONNECT_FAIL 111` (errno 111 = ECONNREFUSED).
 */
export function proxyFailureCode(headers: ReadonlyMap<string, string>): SpokeErrorCode {
  const named = headers.get('x-spoke-error-code')?.trim();
  if (named !== undefined && PROXY_NAMED_CODES.has(named as SpokeErrorCode)) return named as SpokeErrorCode;
  const squid = headers.get('x-squid-error')?.trim();
  if (squid !== undefined) {
    const [kind, errno] = squid.split(/\s+/);
    if (kind === 'ERR_CONNECT_FAIL' && errno === '111') return 'ERR_DIAL_REFUSED';
    if (kind === 'ERR_CONNECT_FAIL' && errno === '110') return 'ERR_DIAL_TIMEOUT';
    if (kind === 'ERR_DNS_FAIL') return 'ERR_DIAL_UNREACHABLE';
    if (kind === 'ERR_ACCESS_DENIED') return 'ERR_DIAL_DENIED';
  }
  return 'ERR_PROXY_STATUS';
}

/** What a proxy answered instead of `200`, as carried by {@link ProxyStatusError}. */
export interface ProxyAnswer {
  /** HTTP status code, e.g. 407 or 502. */
  status: number;
  /** The reason phrase of the status line. */
  statusText: string;
  /** The start of the body, as text (at most a few KiB). */
  body: string;
}

/**
 * A proxy refused a CONNECT. `code` is `ERR_PROXY_STATUS`, or the dial code
 * the proxy named (see {@link proxyFailureCode}); `status`, `statusText` and
 * `body` hold what the proxy said.
 */
export class ProxyStatusError extends SpokeError implements ProxyAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly body: string;

  constructor(code: SpokeErrorCode, message: string, answer: ProxyAnswer, init: SpokeErrorInit = {}) {
    super(code, message, init);
    this.status = answer.status;
    this.statusText = answer.statusText;
    this.body = answer.body;
  }
}
