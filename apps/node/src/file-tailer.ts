import { closeSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import type { LogBuffer } from './log-buffer.js';

/**
 * Feeds a growing file into a LogBuffer: what is there at start, then every
 * append (inotify through fs.watch). A file that shrinks was truncated or
 * rotated and is read again from the start.
 */
export class FileTailer {
  private offset = 0;
  private watcher: FSWatcher | undefined;

  constructor(
    private readonly path: string,
    private readonly log: LogBuffer,
  ) {
    this.readNew();
    try {
      this.watcher = watch(path, () => this.readNew());
      this.watcher.on('error', () => this.close());
    } catch {
      // A missing file simply has no log yet; nothing to watch.
    }
  }

  /** Reads whatever was appended since the last read. */
  readNew(): void {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return;
    }
    if (size < this.offset) this.offset = 0;
    if (size === this.offset) return;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      this.log.append('stdout', buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }

  /** Stops watching. */
  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
