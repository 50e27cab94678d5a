import type { Duplex } from 'node:stream';

/**
 * The client connections a long-running command holds, so shutdown can wait
 * for them (graceful) and then cut the stragglers (bounded). Each client counts
 * once, from accept to close, whether it is still handshaking, dialling or
 * relayed: the number shutdown reports is the `spoke_cli_connections_open` gauge.
 */
export class ConnectionTracker {
  private readonly open = new Set<Duplex>();
  // Upstreams belong to a client: cut with the stragglers, never counted on their own.
  private readonly upstreams = new Set<Duplex>();
  private idle: Array<() => void> = [];

  /** Number of open client connections. */
  get size(): number {
    return this.open.size;
  }

  /** Tracks client connection `socket` until it closes. */
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

  /** Tracks a client's upstream until it closes (cut with the client after the grace period, not counted). */
  attach(upstream: Duplex): void {
    if (upstream.destroyed) return;
    this.upstreams.add(upstream);
    upstream.once('close', () => this.upstreams.delete(upstream));
  }

  /**
   * Waits until every tracked client connection has closed, or `graceMs` has
   * passed; then destroys what is left. Resolves to the number of clients cut.
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
    for (const socket of [...left, ...this.upstreams]) socket.destroy();
    return left.length;
  }
}
