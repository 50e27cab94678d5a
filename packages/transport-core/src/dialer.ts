import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { Target } from './target.js';

/** Options every dial accepts. */
export interface DialOptions {
  /** Cancels the dial; rejects with an `AbortError` (or `ERR_DIAL_TIMEOUT` if the reason is a TimeoutError). */
  signal?: AbortSignal;
  /** Upper bound for the whole dial, handshakes included; rejects with `ERR_DIAL_TIMEOUT`. */
  timeoutMs?: number;
}

/**
 * Something that opens byte streams to targets. The stream behaves like a
 * `net.Socket`: `end()` half-closes, `destroy(err)` resets, `write()` returns
 * false under backpressure and `'drain'` follows.
 */
export interface Dialer {
  /** A short name of the backend: `"net"`, `"memory"`, `"tls"`, `"ssh"`, `"spoke"`... */
  readonly kind: string;
  /** Opens a stream to `target` (`"host:port"`, `"[v6]:port"`, `"unix:/path"` or a {@link Target}). */
  dial(target: Target | string, options?: DialOptions): Promise<Duplex>;
  /** Releases pooled connections; streams already handed out stay usable until they end. */
  close(): Promise<void>;
}

/** Life cycle of a {@link Tunnel}. */
export type TunnelState = 'connecting' | 'open' | 'draining' | 'closed';

/**
 * One live multiplexed session to a peer, usable as a Dialer.
 * Emits `"open"`, `"close"` (with the SpokeError that ended it, if any) and
 * `"stream"` (peer-initiated streams).
 */
export interface Tunnel extends Dialer, EventEmitter {
  readonly state: TunnelState;
  /** Round trip to the peer in milliseconds. */
  ping(options?: { signal?: AbortSignal }): Promise<number>;
  /** Immediate teardown: every stream fails with `err` (or `ERR_TUNNEL_CLOSED`). */
  destroy(err?: Error): void;
}

/** Options of dialers that reach their own server through another dialer. */
export interface ViaOption {
  /** The dialer used to reach this backend's server; defaults to direct TCP. */
  via?: Dialer;
}

/** A function that wraps a Dialer and returns one with extra behaviour. */
export type DialerDecorator = (dialer: Dialer) => Dialer;

/** Duck-typed check (works across duplicate package copies). */
export function isDialer(value: unknown): value is Dialer {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Dialer>;
  return typeof v.dial === 'function' && typeof v.close === 'function' && typeof v.kind === 'string';
}
