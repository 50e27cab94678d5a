import net from 'node:net';
import { onAbort } from './abort.js';
import { SpokeError } from './errors.js';
import type { Dialer, DialOptions } from './dialer.js';
import { dialTarget } from './dial-scope.js';
import { isUnixTarget, type Target } from './target.js';

/** Options of {@link createNetDialer}. */
export interface NetDialerOptions {
  /** Disable Nagle's algorithm. Default `true` (tunnels carry interactive traffic). */
  noDelay?: boolean;
  /** TCP keepalive probes. Default `true`. */
  keepAlive?: boolean;
  /** Idle time before the first keepalive probe. Default `30000` ms. */
  keepAliveInitialDelayMs?: number;
  /** Local address to bind before connecting. */
  localAddress?: string;
  /** Restrict name resolution to IPv4 (4) or IPv6 (6). Default `0` (either). */
  family?: 0 | 4 | 6;
  /** Custom resolver, as `net.connect`'s `lookup`. */
  lookup?: net.LookupFunction;
  /** Default `timeoutMs` for dials that don't set one. Default: none. */
  timeoutMs?: number;
}

/**
 * Set (to true) on a socket whose handle TLS now wraps: a RST on the raw handle
 * is then impossible (EINVAL), so destroy() closes normally.
 */
export const kHandleWrapped: unique symbol = Symbol.for('@spoke/transport-core/handle-wrapped') as never;

/**
 * A `net.Socket` whose errors are SpokeErrors carrying the target and hop,
 * so that stream failures read the same whatever the backend.
 */
export class SpokeSocket extends net.Socket {
  #target: Target | undefined;

  /** @internal */
  setDialTarget(target: Target): void {
    this.#target = target;
  }

  /**
   * Like `net.Socket#destroy`, except that destroying a connection that has
   * not finished both directions sends a TCP RST (as `resetAndDestroy()`), so
   * the far side learns it was reset rather than seeing a clean end-of-stream.
   */
  override destroy(error?: Error): this {
    const handle = (this as unknown as { _handle?: { reset?: unknown } })._handle;
    // Only TCP handles can send a RST; unix sockets just close.
    const wrapped = (this as unknown as Record<symbol, unknown>)[kHandleWrapped] === true;
    if (
      !wrapped &&
      typeof handle?.reset === 'function' &&
      !this.destroyed &&
      !this.connecting &&
      // While end()'s shutdown is pending libuv refuses the RST (EINVAL) and Node 20 then spins at 100% CPU forever.
      !(this.writableEnded && !this.writableFinished) &&
      !(this.writableFinished && this.readableEnded)
    ) {
      // Node's own flag behind resetAndDestroy(); that method takes no error, this one must.
      (this as unknown as { resetAndClosing: boolean }).resetAndClosing = true;
    }
    return super.destroy(error);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const mapped =
      err === null || err === undefined ? err : SpokeError.from(err, { hop: 'net', ...(this.#target ? { target: this.#target } : {}) });
    super._destroy(mapped, callback);
  }
}

/**
 * Direct TCP and unix-socket connections. The returned stream is a real
 * `net.Socket` (a {@link SpokeSocket}), so it supports everything sockets do.
 */
export function createNetDialer(options: NetDialerOptions = {}): Dialer {
  const noDelay = options.noDelay ?? true;
  const keepAlive = options.keepAlive ?? true;
  const keepAliveInitialDelay = options.keepAliveInitialDelayMs ?? 30_000;
  let closed = false;
  return {
    kind: 'net',
    dial(input: Target | string, dialOptions?: DialOptions) {
      return dialTarget(input, { timeoutMs: options.timeoutMs, ...dialOptions }, 'net', () => closed, connect);
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };

  function connect(target: Target, signal: AbortSignal): Promise<SpokeSocket> {
    return new Promise((resolve, reject) => {
      const socket = new SpokeSocket({ allowHalfOpen: true });
      socket.setDialTarget(target);
      let detach = (): void => {};
      const onError = (err: Error): void => {
        detach();
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        detach();
        socket.removeListener('error', onError);
        if (!isUnixTarget(target)) {
          socket.setNoDelay(noDelay);
          socket.setKeepAlive(keepAlive, keepAliveInitialDelay);
        }
        resolve(socket);
      });
      if (isUnixTarget(target)) {
        socket.connect({ path: target.path });
      } else {
        socket.connect({
          host: target.host,
          port: target.port,
          ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
          ...(options.family !== undefined ? { family: options.family } : {}),
          ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
        });
      }
      // After connect(): runDial's signal is live here, and an abort ends the attempt as a reset.
      detach = onAbort(signal, () => socket.destroy());
    });
  }
}

const sharedNet = createNetDialer();
const direct: Dialer = { kind: 'net', dial: (t, o) => sharedNet.dial(t, o), close: async () => {} };

/**
 * The dialer a backend uses to reach its own server: `via` when given,
 * otherwise direct TCP (a shared instance whose `close()` does nothing).
 */
export function viaOrDirect(via?: Dialer): Dialer {
  return via ?? direct;
}
