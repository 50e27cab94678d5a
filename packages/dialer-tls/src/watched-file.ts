import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { badOption } from './errors.js';

/** A file's content plus a version that changes whenever the content was re-read. */
export interface FileSnapshot {
  data: Buffer;
  version: number;
}

/** A file read lazily and re-read when it changes on disk. */
export interface WatchedFile {
  /** Absolute path. */
  readonly path: string;
  /** The current content; re-reads only if inode, size or mtime changed since the last read. */
  read(): Promise<FileSnapshot>;
}

/**
 * Watches a file by `stat`ing it on every `read()` (a few microseconds, far
 * cheaper than a handshake) rather than with `fs.watch`: the stat sees
 * rename-into-place and symlink swaps (the kubelet's `*-current.pem`) on every
 * platform and needs no handle to close. If the file is briefly missing or
 * unreadable in the middle of a rotation, the last good content is kept.
 *
 * @param label names the option in error messages, e.g. `"caFile"`.
 */
export function watchFile(path: string, label: string): WatchedFile {
  const full = resolve(path);
  let cached: { key: string; snapshot: FileSnapshot } | undefined;
  let version = 0;
  return {
    path: full,
    async read() {
      try {
        const s = await stat(full);
        const key = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
        if (cached?.key === key) return cached.snapshot;
        const data = await readFile(full);
        cached = { key, snapshot: { data, version: ++version } };
        return cached.snapshot;
      } catch (err) {
        if (cached) return cached.snapshot;
        const code = (err as { code?: string }).code ?? (err as Error).message;
        throw badOption(`Cannot read ${label} ${full} (${code}). Check the path and that this process may read it.`, { cause: err });
      }
    },
  };
}
