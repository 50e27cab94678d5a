import type { Duplex } from 'node:stream';
import { SpokeError } from '@spoke/transport-core';

/**
 * Reads exactly `n` bytes from a paused stream (a handshake field), leaving
 * anything after them buffered for the relay. Rejects with `ERR_PROTOCOL` if
 * the stream ends first, or with `signal`'s reason (handshake timeout).
 */
export function readBytes(stream: Duplex, n: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('readable', attempt);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onEnd = (): void => {
      cleanup();
      reject(new SpokeError('ERR_PROTOCOL', 'The client closed the connection in the middle of the handshake.'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onAbort = (): void => {
      cleanup();
      reject(
        signal.reason instanceof Error
          ? signal.reason
          : new SpokeError('ERR_HANDSHAKE_TIMEOUT', 'The client did not finish the handshake in time.'),
      );
    };
    function attempt(): void {
      const chunk = stream.read(n) as Buffer | null;
      if (chunk === null) return;
      if (chunk.length < n) {
        // Only at end of stream does read(n) hand back a short chunk.
        stream.unshift(chunk);
        onEnd();
        return;
      }
      cleanup();
      resolve(chunk);
    }
    if (n === 0) return resolve(Buffer.alloc(0));
    if (signal.aborted) return onAbort();
    if (stream.readableEnded || stream.destroyed) return onEnd();
    stream.on('readable', attempt);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    attempt();
  });
}
