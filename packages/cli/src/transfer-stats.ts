import type { Duplex } from 'node:stream';
import type { CliIo } from './command.js';

/** Running totals of a forwarder or proxy. */
export class TransferStats {
  /** Bytes from local clients to targets. */
  up = 0;
  /** Bytes from targets to local clients. */
  down = 0;
  /** Connections open now. */
  open = 0;
  /** Connections accepted so far. */
  total = 0;
  /** Dials that failed. */
  failed = 0;

  /** Counts the bytes flowing between `client` and `upstream` (listeners only; flow is unchanged). */
  count(client: Duplex, upstream: Duplex): void {
    client.on('data', (chunk: Buffer) => {
      this.up += chunk.length;
    });
    upstream.on('data', (chunk: Buffer) => {
      this.down += chunk.length;
    });
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
