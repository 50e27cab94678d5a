import type { FrameCarrier } from './carrier.js';
import { encodeDataHeader, encodeFrame } from './codec.js';
import { ContentionTracker } from './contention.js';
import { LIMITS, type Frame } from './frame.js';
import type { ResolvedSessionOptions } from './session-options.js';
import type { SessionStream } from './session-stream.js';

/** What queueing one control frame costs beyond its bytes (the carrier's bookkeeping), for the backlog bound. */
const FRAME_COST = 64;

type SchedulerOptions = Pick<ResolvedSessionOptions, 'frameSize' | 'sharedFrameSize' | 'contentionHoldMs' | 'maxControlBacklog'>;

/**
 * The sending half of a session: every frame leaves through it. Streams with data and credit
 * take turns, one frame each, while the carrier takes more; DATA spends the session credit
 * the peer granted; frames shrink while streams compete (PROTOCOL.md §5). Control frames
 * skip the queue: they are small, and the peer's liveness and credit depend on them. While
 * the carrier is congested they pile up in it, so they are counted: past `maxControlBacklog`
 * the peer is sending faster than it reads, and `overflow` ends it (PROTOCOL.md §6).
 */
export class SendScheduler {
  readonly #carrier: FrameCarrier;
  readonly #o: SchedulerOptions;
  readonly #overflow: () => void;
  readonly #sending: ContentionTracker;
  /** Session credit the peer granted and we have not spent. */
  #credit = 0;
  /** The carrier said no more until `drain`. */
  #congested = false;
  /** When the carrier last went congested (Date.now()), while it still is. */
  #stalledSince: number | undefined;
  /** Control bytes (plus FRAME_COST each) handed to the congested carrier since it last drained. */
  #backlog = 0;
  #overflowed = false;
  readonly #queue: SessionStream[] = [];
  /** Streams that stopped for want of session credit; the next session WINDOW requeues them. */
  readonly #blocked = new Set<SessionStream>();
  #pumping = false;
  #stopped = false;
  bytesOut = 0;
  framesOut = 0;

  /** `overflow` runs once, instead of a send, when the control backlog passes its bound. */
  constructor(carrier: FrameCarrier, options: SchedulerOptions, overflow: () => void) {
    this.#carrier = carrier;
    this.#o = options;
    this.#overflow = overflow;
    this.#sending = new ContentionTracker(options.contentionHoldMs);
  }

  /** Since when the carrier has taken nothing more (Date.now()); undefined while it takes frames. */
  get stalledSince(): number | undefined {
    return this.#stalledSince;
  }

  /** Sends a control frame now (nothing once stopped). */
  send(frame: Frame): void {
    if (this.#stopped) return;
    const bytes = encodeFrame(frame);
    // Once overflowed, only the GOAWAY that ends the session still goes out.
    if (this.#congested && !this.#overflowed) {
      this.#backlog += bytes.length + FRAME_COST;
      if (this.#backlog > this.#o.maxControlBacklog) {
        this.#overflowed = true;
        this.#overflow();
        return;
      }
    }
    this.framesOut++;
    if (!this.#carrier.send(bytes)) this.#congest();
  }

  /** Sends DATA for `s` within the session credit; returns the bytes sent (0 = no credit, `s` waits for some). */
  sendData(s: SessionStream, chunk: Buffer): number {
    const n = Math.min(chunk.length, this.#credit);
    if (n <= 0) {
      this.#blocked.add(s);
      return 0;
    }
    this.#credit -= n;
    this.#sending.note(s.id);
    this.bytesOut += n;
    this.framesOut++;
    if (!this.#carrier.sendData(encodeDataHeader(s.id), n === chunk.length ? chunk : chunk.subarray(0, n))) this.#congest();
    return n;
  }

  /**
   * Largest DATA payload to send now; never above what the peer accepts. While streams
   * compete, smaller frames let another stream's frame through sooner: what waits ahead of
   * it in the carrier is at most one frame per busy stream.
   */
  frameSize(peerMaxFrame: number = LIMITS.minFrame): number {
    const size = this.#sending.contended ? this.#o.sharedFrameSize : this.#o.frameSize;
    return Math.min(size, peerMaxFrame);
  }

  /** The peer's HELLO: the session credit it starts us with. */
  open(sessionWindow: number): void {
    this.#credit = sessionWindow;
  }

  /** Session credit from the peer's WINDOW; false if it would pass 2^31-1 (a flow-control violation). */
  grant(increment: number): boolean {
    if (this.#credit + increment > LIMITS.maxWindow) return false;
    this.#credit += increment;
    for (const s of this.#blocked) this.schedule(s);
    this.#blocked.clear();
    return true;
  }

  /** Queues `s` for a turn. */
  schedule(s: SessionStream): void {
    if (s.scheduled || s.destroyed || this.#stopped) return;
    s.scheduled = true;
    this.#queue.push(s);
    this.pump();
  }

  /** The carrier takes frames again. */
  drained(): void {
    this.#congested = false;
    this.#stalledSince = undefined;
    this.#backlog = 0;
    this.pump();
  }

  #congest(): void {
    if (this.#congested) return;
    this.#congested = true;
    this.#stalledSince = Date.now();
  }

  /** Forgets a finished stream. */
  forget(s: SessionStream): void {
    this.#blocked.delete(s);
  }

  /** The session closed: nothing more goes out. */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
  }

  // Round-robin, one frame per stream per turn, while the carrier takes more.
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#congested && this.#queue.length > 0 && !this.#stopped) {
        const s = this.#queue.shift() as SessionStream;
        s.scheduled = false;
        if (s.sendOne() && !s.scheduled) {
          s.scheduled = true;
          this.#queue.push(s);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}
