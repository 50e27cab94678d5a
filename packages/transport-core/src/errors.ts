import { formatTarget, type Target } from './target.js';

/**
 * Every stable error code spoke produces, for validation and documentation.
 * The list is closed on purpose: callers switch on `err.code`, so a new code
 * is an API change.
 */
export const SPOKE_ERROR_CODES = [
  'ERR_BAD_TARGET',
  'ERR_BAD_OPTION',
  'ERR_BAD_URI',
  'ERR_BAD_CONFIG',
  'ERR_DIAL_TIMEOUT',
  'ERR_DIAL_REFUSED',
  'ERR_DIAL_DENIED',
  'ERR_DIAL_UNREACHABLE',
  'ERR_DIAL_FAILED',
  'ERR_NO_ROUTE',
  'ERR_DIALER_CLOSED',
  'ERR_TUNNEL_CLOSED',
  'ERR_STREAM_RESET',
  'ERR_PROTOCOL',
  'ERR_VERSION_MISMATCH',
  'ERR_FRAME_TOO_LARGE',
  'ERR_FLOW_CONTROL',
  'ERR_TOO_MANY_STREAMS',
  'ERR_HANDSHAKE_TIMEOUT',
  'ERR_AUTH_FAILED',
  'ERR_HOST_KEY_UNKNOWN',
  'ERR_HOST_KEY_MISMATCH',
  'ERR_HOST_KEY_REVOKED',
  'ERR_CERT_UNTRUSTED',
  'ERR_CERT_HOSTNAME',
  'ERR_CERT_EXPIRED',
  'ERR_CERT_PIN',
  'ERR_PROXY_STATUS',
  'ERR_INTERNAL',
] as const;

/** One of {@link SPOKE_ERROR_CODES}. */
export type SpokeErrorCode = (typeof SPOKE_ERROR_CODES)[number];

/**
 * Whether retrying the same operation can succeed without the user changing
 * anything. Decorators such as `withRetry` consult this table.
 */
export const RETRYABLE_CODES: ReadonlySet<SpokeErrorCode> = new Set<SpokeErrorCode>([
  'ERR_DIAL_TIMEOUT',
  'ERR_DIAL_REFUSED',
  'ERR_DIAL_UNREACHABLE',
  'ERR_DIAL_FAILED',
  'ERR_NO_ROUTE',
  'ERR_TUNNEL_CLOSED',
  'ERR_STREAM_RESET',
  'ERR_HANDSHAKE_TIMEOUT',
  'ERR_TOO_MANY_STREAMS',
]);

/** Extra context attached to a {@link SpokeError}. */
export interface SpokeErrorInit {
  /** The underlying error (a Node system error, a peer's message...). */
  cause?: unknown;
  /** The target being dialled when the error happened, if any. */
  target?: Target | string;
  /** The hop that failed, e.g. `"net"`, `"tls"`, `"ssh://bastion:22"`. */
  hop?: string;
}

// A registry-wide symbol so that two installed copies of this package
// recognise each other's errors (`instanceof` is brand-based, not prototype-based).
const brand: unique symbol = Symbol.for('@spoke/transport-core/SpokeError') as never;

/**
 * The one error class spoke throws. `code` is stable and meant for programs;
 * `message` is for people and always says what to try next.
 */
export class SpokeError extends Error {
  readonly code: SpokeErrorCode;
  readonly target?: string;
  readonly hop?: string;
  declare readonly [brand]: true;

  constructor(code: SpokeErrorCode, message: string, init: SpokeErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'SpokeError';
    this.code = code;
    if (init.target !== undefined) this.target = typeof init.target === 'string' ? init.target : formatTarget(init.target);
    if (init.hop !== undefined) this.hop = init.hop;
    Object.defineProperty(this, brand, { value: true });
  }

  /** True for a SpokeError from any installed copy of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  /** Whether retrying without changes can succeed (see {@link RETRYABLE_CODES}). */
  get retryable(): boolean {
    return RETRYABLE_CODES.has(this.code);
  }

  /**
   * Turns anything thrown into a SpokeError: SpokeErrors pass through (gaining
   * target/hop if they lacked them), Node system errors map by `code`, the rest
   * become `ERR_INTERNAL`. Abort errors are NOT converted: use {@link isAbortError}
   * first, cancellation keeps the platform's `AbortError`.
   */
  static from(err: unknown, init: Omit<SpokeErrorInit, 'cause'> = {}): SpokeError {
    if (err instanceof SpokeError) {
      if ((err.target !== undefined || init.target === undefined) && (err.hop !== undefined || init.hop === undefined)) return err;
      const copy = new SpokeError(err.code, err.message, {
        cause: err.cause,
        target: err.target ?? init.target,
        hop: err.hop ?? init.hop,
      });
      copy.stack = err.stack;
      return copy;
    }
    const where = init.target === undefined ? '' : ` ${typeof init.target === 'string' ? init.target : formatTarget(init.target)}`;
    const via = init.hop === undefined ? '' : ` (via ${init.hop})`;
    const sys = systemCode(err);
    const detail = err instanceof Error ? err.message : String(err);
    const opts = { ...init, cause: err };
    switch (sys) {
      case 'ECONNREFUSED':
        return new SpokeError(
          'ERR_DIAL_REFUSED',
          `Connection to${where} was refused${via}: nothing is listening there. Check the address and port, and that the service is running.`,
          opts,
        );
      case 'ENOENT':
        return new SpokeError(
          'ERR_DIAL_REFUSED',
          `No socket exists at${where}${via}. Check the path and that the service is running.`,
          opts,
        );
      case 'ETIMEDOUT':
        return new SpokeError(
          'ERR_DIAL_TIMEOUT',
          `Connecting to${where} timed out${via}. Check that the host is up and no firewall drops the traffic, or raise timeoutMs.`,
          opts,
        );
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
      case 'EAI_NONAME':
        return new SpokeError(
          'ERR_DIAL_UNREACHABLE',
          `Cannot resolve the host of${where}${via} (${sys}). Check the name, or use an IP address.`,
          opts,
        );
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'EADDRNOTAVAIL':
        return new SpokeError(
          'ERR_DIAL_UNREACHABLE',
          `No network path to${where}${via} (${sys}). Check routing, or dial through a tunnel that can reach it.`,
          opts,
        );
      case 'ECONNRESET':
      case 'EPIPE':
      case 'ECONNABORTED':
      case 'ERR_STREAM_PREMATURE_CLOSE':
        return new SpokeError(
          'ERR_STREAM_RESET',
          `The connection to${where} was reset by the peer${via} (${sys}). Retry; if it persists, check the peer's logs.`,
          opts,
        );
      case 'EACCES':
      case 'EPERM':
        return new SpokeError(
          'ERR_DIAL_DENIED',
          `Permission denied connecting to${where}${via} (${sys}). Check socket permissions or firewall rules.`,
          opts,
        );
      default:
        return new SpokeError(
          'ERR_INTERNAL',
          `Unexpected error${where ? ` dialling${where}` : ''}${via}: ${detail}. This is likely a bug; please report it with this message.`,
          opts,
        );
    }
  }
}

/** Narrowing helper equivalent to `err instanceof SpokeError`, optionally for one code. */
export function isSpokeError(err: unknown, code?: SpokeErrorCode): err is SpokeError {
  return err instanceof SpokeError && (code === undefined || err.code === code);
}

/** The platform's cancellation error: `name === 'AbortError'`, `code === 'ABORT_ERR'` (as Node's own APIs). */
export interface AbortError extends Error {
  name: 'AbortError';
  code: 'ABORT_ERR';
}

/** Creates a platform-style AbortError carrying the signal's reason as `cause`. */
export function abortError(reason?: unknown, message = 'The operation was aborted'): AbortError {
  const err = new Error(message, reason === undefined ? undefined : { cause: reason }) as AbortError;
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}

/**
 * What an aborted operation rejects with: the signal's reason when it is an
 * Error (a DOMException, a SpokeError timeout), otherwise an AbortError
 * carrying it as `cause` (`controller.abort('stop')` still rejects with an Error).
 */
export function abortReasonAsError(reason: unknown): Error {
  return reason instanceof Error ? reason : abortError(reason);
}

/**
 * A caught value as an Error, for passing it on as a rejection: Errors pass
 * unchanged, anything else (a thrown string) becomes an `ERR_INTERNAL`
 * SpokeError carrying it as `cause`.
 */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : SpokeError.from(value);
}

/** True for Node's AbortError and DOMException('AbortError'). */
export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/** The string `code` of a Node system or OpenSSL error (`ECONNREFUSED`, `ERR_SSL_…`), if it has one. */
export function systemCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The one `ERR_DIALER_CLOSED` error every dialer raises after `close()`:
 * `what` names the closed thing (`"SSH dialer for ssh://bastion:22"`, `"hub dialer"`).
 */
export function dialerClosedError(what: string, init: Omit<SpokeErrorInit, 'cause'> = {}): SpokeError {
  return new SpokeError('ERR_DIALER_CLOSED', `This ${what} was closed. Create a new one to keep dialling.`, init);
}
