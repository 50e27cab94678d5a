import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { SpokeError } from './errors.js';

/**
 * Makes `path` free for a unix socket server: nothing there is fine; a socket
 * nobody listens on (left by a process that died) is removed; a socket some
 * process still serves, or a file that is not a socket, is `ERR_BAD_OPTION`
 * naming `what` — never deleted, so a typo cannot remove a regular file or
 * take over another server's socket.
 */
export async function claimSocketPath(path: string, what: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SpokeError('ERR_BAD_OPTION', `${what} cannot use ${path}: ${(err as Error).message}.`, { cause: err });
  }
  if (!isSocket)
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `${what} cannot listen on ${path}: the file exists and is not a socket. Remove it or pick another path.`,
    );
  if (await answers(path))
    throw new SpokeError('ERR_BAD_OPTION', `${what} cannot listen on ${path}: another process is serving that socket.`);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new SpokeError('ERR_BAD_OPTION', `${what} cannot replace the stale socket ${path}: ${(err as Error).message}.`, { cause: err });
  }
}

/** Whether a server accepts connections on the unix socket `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
