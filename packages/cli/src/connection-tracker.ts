import type { Duplex } from 'node:stream';

/**
 * The connections a long-running command has open, so shutdown can wait for
 * them (graceful) and then cut the stragglers (bounded).
 */
export class ConnectionTracker {
  private readonly open = new Set<Duplex>();
  private idle: Array<() => void> = [];

  /** Number of open connections. */
  get size(): number {
    return this.open.size;
  }

  /** Tracks `socket` until it closes. */
  add(socket: Duplex): void {
    if (socket.destroyed) return;
    this.open.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      if (this.open.size === 0) {
        const waiters = this.idle;
        this.idle = [];
        for (const wake of waiters) wake();
      }
    });
  }

  /**
   * Waits until every tracked connection has closed, or `graceMs` has passed;
   * then destroys what is left. Resolves to the number destroyed.
   */
  async drain(graceMs: number): Promise<number> {
    if (this.open.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    }
    const left = [...this.open];
    for (const socket of left) socket.destroy();
    return left.length;
  }
}
