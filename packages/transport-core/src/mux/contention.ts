/**
 * Tells whether more than one stream has been moving DATA in one direction of a
 * session lately. A session uses it to trade a little single-stream throughput
 * for latency only while streams actually compete (PROTOCOL.md §5, local policy):
 * a stream alone keeps large frames and its whole window.
 */
export class ContentionTracker {
  readonly #holdMs: number;
  #last = 0;
  #lastAt = -Infinity;
  #until = 0;

  /** `holdMs`: how long one switch between streams keeps the direction contended. */
  constructor(holdMs: number) {
    this.#holdMs = holdMs;
  }

  /** DATA moved for `stream`. */
  note(stream: number): void {
    const now = performance.now();
    // A switch counts only if the other stream was still moving (not one stream after another).
    if (stream !== this.#last && now - this.#lastAt < this.#holdMs) this.#until = now + this.#holdMs;
    this.#last = stream;
    this.#lastAt = now;
  }

  /** Whether two streams moved DATA within the hold time of each other, lately. */
  get contended(): boolean {
    return this.#until > performance.now();
  }
}
