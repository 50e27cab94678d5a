import type { Duplex } from 'node:stream';
import { SpokeError } from '../errors.js';
import type { CarrierHandlers, FrameCarrier } from './carrier.js';
import { LengthPrefixedReader, lengthPrefix } from './length-prefix.js';

/**
 * Carries frames over any byte stream (TCP, TLS, an SSH channel, stdio, another
 * dialer's stream), each frame prefixed by its u32-BE length.
 */
export function createStreamCarrier(stream: Duplex, description = 'stream'): FrameCarrier {
  let handlers: CarrierHandlers | undefined;
  let done = false;
  // Control frames (WINDOW grants above all) written in one tick leave in one writev.
  let corked = false;
  const batch = (): void => {
    if (corked) return;
    corked = true;
    stream.cork();
    process.nextTick(() => {
      corked = false;
      stream.uncork();
    });
  };
  const finish = (err?: Error): void => {
    if (done) return;
    done = true;
    handlers?.closed(err);
  };
  return {
    description,
    start(h, frameLimit) {
      handlers = h;
      const reader = new LengthPrefixedReader(frameLimit);
      let faulted = false;
      stream.on('data', (chunk: Buffer) => {
        if (faulted) return;
        try {
          reader.push(chunk, (frame) => h.frame(frame));
        } catch (err) {
          faulted = true;
          h.fault(err instanceof Error ? err : new Error(String(err)));
        }
      });
      stream.on('drain', () => h.drain());
      stream.on('end', () =>
        finish(reader.buffered > 0 ? new SpokeError('ERR_PROTOCOL', `The peer ended ${description} in the middle of a frame.`) : undefined),
      );
      stream.on('error', (err) => finish(SpokeError.from(err, { hop: description })));
      stream.on('close', () => finish());
    },
    send(frame) {
      if (done) return false;
      batch();
      return stream.write(Buffer.concat([lengthPrefix(frame.length), frame]));
    },
    sendData(header, payload) {
      if (done) return false;
      const head = Buffer.allocUnsafe(4 + header.length);
      head.writeUInt32BE(header.length + payload.length, 0);
      header.copy(head, 4);
      stream.cork();
      stream.write(head);
      const ok = stream.write(payload);
      stream.uncork();
      return ok;
    },
    pause() {
      // Unread bytes stay in the kernel: the peer's writes stall, ours cost nothing more.
      stream.pause();
    },
    close() {
      stream.end();
      // Half-closed carriers would otherwise linger until the peer ends too.
      stream.once('finish', () => {
        if (!stream.readableEnded) stream.once('end', () => stream.destroy());
      });
    },
    destroy() {
      stream.destroy();
    },
  };
}
