import type { SessionRole } from './frame.js';
import { SessionStream, type StreamHost } from './session-stream.js';

/** A dial we sent, waiting for the peer's DIAL_OK, DIAL_ERR or RESET. */
export interface OutboundDial {
  resolve(stream: SessionStream): void;
  reject(err: Error): void;
}

/**
 * The streams of a session by id (PROTOCOL.md §4): the live ones, the dials still waiting
 * for an answer in either direction, and the ids each side has used so far.
 */
export class StreamTable {
  readonly #host: StreamHost;
  readonly #role: SessionRole;
  readonly #streams = new Map<number, SessionStream>();
  /** Our dials awaiting the peer's answer. */
  readonly #outbound = new Map<number, OutboundDial>();
  /** The peer's dials awaiting our `onDial`; aborted when the peer cancels or the session dies. */
  readonly #inbound = new Map<number, AbortController>();
  #nextId: number;
  #lastPeerId = 0;

  constructor(role: SessionRole, host: StreamHost) {
    this.#role = role;
    this.#host = host;
    this.#nextId = role === 'initiator' ? 1 : 2;
  }

  /** Live streams, pending dials included. */
  get size(): number {
    return this.#streams.size;
  }

  /** Peer dials waiting for `onDial`. */
  get pendingInbound(): number {
    return this.#inbound.size;
  }

  /** The highest stream id the peer opened (GOAWAY's `lastStream`). */
  get lastPeerId(): number {
    return this.#lastPeerId;
  }

  get(id: number): SessionStream | undefined {
    return this.#streams.get(id);
  }

  /** The id our next stream gets, taken; undefined when the 32-bit id space is used up. */
  takeId(): number | undefined {
    const id = this.#nextId;
    if (id > 2 ** 32 - 1) return undefined;
    this.#nextId += 2;
    return id;
  }

  /** Records an id the peer opens; false if it has our parity or does not grow (a protocol violation). */
  acceptPeerId(id: number): boolean {
    const peerParity = this.#role === 'initiator' ? 0 : 1;
    if (id % 2 !== peerParity || id <= this.#lastPeerId) return false;
    this.#lastPeerId = id;
    return true;
  }

  /** Whether `id` was ever opened by either side (frames for closed streams are fine, for unseen ones not). */
  wasOpened(id: number): boolean {
    const ours = this.#role === 'initiator' ? id % 2 === 1 : id % 2 === 0;
    return ours ? id < this.#nextId : id <= this.#lastPeerId;
  }

  /** A new stream under `id`; its send credit starts at the peer's initial window. */
  open(id: number, target: string, peerInitialWindow: number): SessionStream {
    const stream = new SessionStream(this.#host, id, target, peerInitialWindow);
    this.#streams.set(id, stream);
    return stream;
  }

  /** Forgets a finished stream (unless its id was reused meanwhile). */
  remove(s: SessionStream): void {
    if (this.#streams.get(s.id) === s) this.#streams.delete(s.id);
  }

  /** Calls `each` for every stream (which may remove itself), then empties the table. */
  clear(each: (s: SessionStream) => void): void {
    for (const s of [...this.#streams.values()]) each(s);
    this.#streams.clear();
  }

  awaitAnswer(id: number, dial: OutboundDial): void {
    this.#outbound.set(id, dial);
  }

  isAwaitingAnswer(id: number): boolean {
    return this.#outbound.has(id);
  }

  /** The pending dial of `id`, no longer pending. */
  takeOutbound(id: number): OutboundDial | undefined {
    const dial = this.#outbound.get(id);
    if (dial !== undefined) this.#outbound.delete(id);
    return dial;
  }

  /** Every pending dial of ours, no longer pending. */
  takeAllOutbound(): OutboundDial[] {
    const all = [...this.#outbound.values()];
    this.#outbound.clear();
    return all;
  }

  /** A peer dial now waiting for `onDial`; its controller aborts if the peer cancels. */
  awaitDecision(id: number): AbortController {
    const abort = new AbortController();
    this.#inbound.set(id, abort);
    return abort;
  }

  /** Ends the wait for `onDial` on `id`; true if `abort` was still the live one (not cancelled, not torn down). */
  decide(id: number, abort: AbortController): boolean {
    const live = this.#inbound.get(id) === abort;
    this.#inbound.delete(id);
    return live;
  }

  /** The controller of the peer dial `id` if it still waits for `onDial`, no longer waiting. */
  takeInbound(id: number): AbortController | undefined {
    const abort = this.#inbound.get(id);
    if (abort !== undefined) this.#inbound.delete(id);
    return abort;
  }

  /** Aborts every peer dial still waiting for `onDial`. */
  abortAllInbound(reason: () => Error): void {
    for (const [, abort] of this.#inbound) abort.abort(reason());
    this.#inbound.clear();
  }
}
