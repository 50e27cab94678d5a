import { onAbort } from '../abort.js';
import { SpokeError, abortReasonAsError } from '../errors.js';
import type { Frame } from './frame.js';

interface LivenessOptions {
  keepaliveMs: number;
  idleTimeoutMs: number;
  /** For messages, e.g. `"tcp 127.0.0.1:7000"`. */
  description: string;
  send(frame: Frame): void;
  /** Since when the carrier has taken none of our frames (Date.now()); undefined while it takes them. */
  stalledSince(): number | undefined;
  /** The peer went silent for longer than the idle timeout. */
  dead(err: SpokeError): void;
}

interface PendingPing {
  resolve(ms: number): void;
  reject(err: Error): void;
  t0: number;
}

/**
 * Whether the peer is still there (PROTOCOL.md §7): PING every keepalive interval, the peer
 * is dead after the idle timeout without any frame, or after taking none of ours for as long
 * (what it sends alone must not keep a peer that never reads alive), and `ping()` round
 * trips on demand.
 */
export class Liveness {
  readonly #o: LivenessOptions;
  readonly #pings = new Map<number, PendingPing>();
  #nonce = 0;
  #lastReceived = Date.now();
  #lastPing = Date.now();
  #tick: NodeJS.Timeout | undefined;

  constructor(options: LivenessOptions) {
    this.#o = options;
  }

  /** A frame arrived. */
  heard(): void {
    this.#lastReceived = Date.now();
  }

  /** Starts the keepalive once the session is open. */
  start(): void {
    const { keepaliveMs, idleTimeoutMs } = this.#o;
    const every = Math.max(5, Math.min(keepaliveMs, idleTimeoutMs / 4));
    this.#tick = setInterval(() => {
      const now = Date.now();
      if (now - this.#lastReceived >= idleTimeoutMs) {
        this.#o.dead(
          new SpokeError(
            'ERR_TUNNEL_CLOSED',
            `The peer on ${this.#o.description} sent nothing for ${now - this.#lastReceived} ms (idle timeout ${idleTimeoutMs} ms) and is considered dead. Dial again.`,
          ),
        );
        return;
      }
      const stalled = this.#o.stalledSince();
      if (stalled !== undefined && now - stalled >= idleTimeoutMs) {
        this.#o.dead(
          new SpokeError(
            'ERR_TUNNEL_CLOSED',
            `The peer on ${this.#o.description} took none of our frames for ${now - stalled} ms (idle timeout ${idleTimeoutMs} ms) and is considered dead. Dial again.`,
          ),
        );
        return;
      }
      if (now - this.#lastPing >= keepaliveMs) {
        this.#lastPing = now;
        this.#nonce = (this.#nonce + 1) >>> 0;
        this.#o.send({ type: 'PING', nonce: this.#nonce });
      }
    }, every);
    this.#tick.unref();
  }

  /** Round trip to the peer in milliseconds. */
  ping(signal: AbortSignal | undefined): Promise<number> {
    const nonce = (this.#nonce = (this.#nonce + 1) >>> 0);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReasonAsError(signal.reason));
      let detach = (): void => {};
      this.#pings.set(nonce, {
        resolve: (ms) => {
          detach();
          resolve(ms);
        },
        reject: (e) => {
          detach();
          reject(e);
        },
        t0: performance.now(),
      });
      this.#o.send({ type: 'PING', nonce });
      detach = onAbort(signal, (reason) => {
        this.#pings.delete(nonce);
        reject(abortReasonAsError(reason));
      });
    });
  }

  /** The peer answered a PING. */
  pong(nonce: number): void {
    const p = this.#pings.get(nonce);
    if (p) {
      this.#pings.delete(nonce);
      p.resolve(performance.now() - p.t0);
    }
  }

  /** The session closed: no more PINGs, and pending pings fail with `err`. */
  stop(err: () => Error): void {
    if (this.#tick) clearInterval(this.#tick);
    for (const [, p] of this.#pings) p.reject(err());
    this.#pings.clear();
  }
}
