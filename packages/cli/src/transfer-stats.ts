import type { Duplex } from 'node:stream';
import { createMetricsRegistry, type Counter, type MetricsRegistry } from '@spoke/transport-core/utils';
import type { CliIo } from './command.js';

/**
 * Running totals of a forwarder or proxy, kept as plain numbers for the live
 * counter line and mirrored into a Prometheus registry for `--metrics`.
 */
export class TransferStats {
  /** Bytes from local clients to targets. */
  up = 0;
  /** Bytes from targets to local clients. */
  down = 0;
  /** Client connections accepted so far. */
  total = 0;
  /** Dials that failed. */
  failed = 0;
  /** Prometheus registry with the same numbers (dial failures also by code). */
  readonly metrics: MetricsRegistry = createMetricsRegistry();
  private readonly acceptedCounter: Counter;
  private readonly failedCounter: Counter;
  private readonly bytesCounter: Counter;

  /**
   * @param openNow client connections open now (handshaking, dialling or relayed): the connection
   * tracker's count, so the gauge and what shutdown says it waits for are one number.
   */
  constructor(private readonly openNow: () => number = () => 0) {
    this.acceptedCounter = this.metrics.counter('spoke_cli_connections_total', 'Client connections accepted.');
    this.metrics.gauge('spoke_cli_connections_open', 'Client connections open now (handshaking, dialling or relayed).', () => this.open);
    this.failedCounter = this.metrics.counter('spoke_cli_dial_failures_total', 'Failed dials by spoke error code.');
    this.bytesCounter = this.metrics.counter('spoke_cli_bytes_total', 'Bytes relayed, by direction (up = client to target).');
  }

  /** Client connections open now. */
  get open(): number {
    return this.openNow();
  }

  /** A client connection was accepted. */
  accepted(): void {
    this.total += 1;
    this.acceptedCounter.inc();
  }

  /** A dial for a client failed with `code`. */
  dialFailed(code: string): void {
    this.failed += 1;
    this.failedCounter.inc({ code });
  }

  /** Bytes moved from the client towards the target. */
  sent(bytes: number): void {
    this.up += bytes;
    this.bytesCounter.inc({ direction: 'up' }, bytes);
  }

  /** Bytes moved from the target towards the client. */
  received(bytes: number): void {
    this.down += bytes;
    this.bytesCounter.inc({ direction: 'down' }, bytes);
  }

  /** Counts the bytes flowing between `client` and `upstream` (listeners only; flow is unchanged). */
  count(client: Duplex, upstream: Duplex): void {
    client.on('data', (chunk: Buffer) => this.sent(chunk.length));
    upstream.on('data', (chunk: Buffer) => this.received(chunk.length));
  }

  /** One human line, e.g. `2 open, 14 total, 0 failed, up 1.2 MiB, down 310.0 MiB`. */
  summary(): string {
    return `${this.open} open, ${this.total} total, ${this.failed} failed, up ${formatBytes(this.up)}, down ${formatBytes(this.down)}`;
  }
}

/** `1023 B`, `1.5 KiB`, `310.0 MiB`... */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Redraws a live counter line on stderr while a person watches: only when
 * stderr is a TTY (logs to files and pipes stay clean). Returns a function
 * that stops it and clears the line.
 */
export function startStatusLine(stats: TransferStats, io: CliIo, intervalMs = 500): () => void {
  if (io.stderr.isTTY !== true) return () => {};
  const draw = (): void => {
    io.stderr.write(`\r\x1b[2K${stats.summary()}`);
  };
  const timer = setInterval(draw, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    io.stderr.write('\r\x1b[2K');
  };
}
