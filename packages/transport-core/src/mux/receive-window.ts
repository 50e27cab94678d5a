import { ContentionTracker } from './contention.js';
import type { ResolvedSessionOptions } from './session-options.js';

type WindowOptions = Pick<ResolvedSessionOptions, 'initialWindow' | 'sessionWindow' | 'sharedWindow' | 'soloWindow' | 'contentionHoldMs'>;

/**
 * The receiving half of a session's flow control (PROTOCOL.md §5): the session credit we
 * granted and how much of it readers gave back, and the window each stream keeps open.
 */
export class ReceiveWindow {
  readonly #o: WindowOptions;
  readonly #receiving: ContentionTracker;
  readonly #sendGrant: (increment: number) => void;
  /** Session credit the peer may still spend. */
  #remaining: number;
  /** Bytes readers consumed that we have not granted back yet. */
  #ungranted = 0;

  /** `sendGrant` sends a session WINDOW (stream 0). */
  constructor(options: WindowOptions, sendGrant: (increment: number) => void) {
    this.#o = options;
    this.#sendGrant = sendGrant;
    this.#remaining = options.sessionWindow;
    this.#receiving = new ContentionTracker(options.contentionHoldMs);
  }

  /** DATA arrived for `stream`; false when it exceeds the session credit (the peer broke flow control). */
  take(stream: number, bytes: number): boolean {
    if (bytes > this.#remaining) return false;
    this.#remaining -= bytes;
    this.#receiving.note(stream);
    return true;
  }

  /**
   * The window a stream keeps open now, given the bytes it holds unread. Alone, a stream whose
   * reader has taken everything may keep soloWindow open (fewer WINDOW frames, no credit
   * stalls); a reader that falls behind gets initialWindow back.
   */
  window(buffered: number): number {
    if (this.#receiving.contended) return this.#o.sharedWindow;
    return buffered === 0 ? this.#o.soloWindow : this.#o.initialWindow;
  }

  /** Readers consumed `bytes` (or they died unread): grants them back, a quarter of the session window at a time. */
  consumed(bytes: number): void {
    this.#ungranted += bytes;
    if (this.#ungranted < this.#o.sessionWindow / 4) return;
    const increment = this.#ungranted;
    this.#ungranted = 0;
    this.#remaining += increment;
    this.#sendGrant(increment);
  }
}
