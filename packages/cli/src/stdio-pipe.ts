import type { Duplex } from 'node:stream';
import { SpokeError } from '@spoke/transport-core';
import { onAbort } from '@spoke/transport-core/utils';
import type { CliIo } from './command.js';

/**
 * Joins stdin/stdout to a dialled stream, the way OpenSSH's ProxyCommand and
 * `nc` use them: stdin EOF half-closes the stream (`end()`), and the command
 * is done once the far side has ended and everything it sent is written to
 * stdout. Rejects with the stream's error (a reset keeps its SpokeError code)
 * or when `signal` aborts. A stdout reader that went away ends it quietly.
 * Once done, our side is closed too (see closeOurSide), input not yet sent or not.
 */
export function pipeStdio(stream: Duplex, io: CliIo, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let detach = (): void => {};
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      detach();
      io.stdin.unpipe(stream);
      io.stdin.pause();
      if (err) {
        stream.destroy();
        reject(err);
      } else {
        closeOurSide(stream);
        resolve();
      }
    };
    detach = onAbort(signal, () => finish(new SpokeError('ERR_TUNNEL_CLOSED', 'Interrupted: the connection was closed on a signal.')));
    if (settled) return;

    io.stdin.pipe(stream);
    // stdin errors (e.g. a closed terminal) just mean no more input.
    io.stdin.on('error', () => stream.end());
    stream.pipe(io.stdout, { end: false });
    stream.once('end', () => io.stdout.write('', () => finish()));
    stream.once('error', (err) => finish(err));
    stream.once('close', () => {
      if (!stream.readableEnded)
        finish(
          new SpokeError(
            'ERR_STREAM_RESET',
            "The connection closed before the far side finished sending. Retry; if it persists, check the far side's logs.",
          ),
        );
    });
    io.stdout.once('error', () => {
      stream.destroy();
      finish();
    });
  });
}

/** How long a stream whose far side has ended gets to close after our EOF before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Ends our side of a stream whose far side has finished, and destroys it if it is still open after
 * CLOSE_GRACE_MS. A stream that allows half-open (an SSH channel, a spoke/1 stream) otherwise stays
 * open while stdin does, and keeps the process alive after the exchange is over.
 */
function closeOurSide(stream: Duplex): void {
  if (stream.destroyed) return;
  stream.end();
  const timer = setTimeout(() => stream.destroy(), CLOSE_GRACE_MS);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
}
