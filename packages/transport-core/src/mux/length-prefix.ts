import { SpokeError } from '../errors.js';

/**
 * Splits a byte stream into u32-BE length-prefixed frames (PROTOCOL.md §1),
 * buffering at most one frame. Rejects a length above `limit` as soon as the
 * prefix is read, so an oversized frame is never buffered.
 */
export class LengthPrefixedReader {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #need = -1;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Feeds bytes; calls `onFrame` for each complete frame. Throws a SpokeError on a bad length. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < 4) return;
        const length = this.#take(4).readUInt32BE(0);
        if (length === 0)
          throw new SpokeError(
            'ERR_PROTOCOL',
            'The peer sent a zero-length frame; it does not speak spoke/1 framing. Check what is connected to this port.',
          );
        if (length > this.#limit) {
          throw new SpokeError(
            'ERR_FRAME_TOO_LARGE',
            `The peer announced a ${length}-byte frame; this side accepts at most ${this.#limit}. Check that the peer speaks spoke/1 and honours maxFrame.`,
          );
        }
        this.#need = length;
      }
      if (this.#buffered < this.#need) return;
      const frame = this.#take(this.#need);
      this.#need = -1;
      onFrame(frame);
    }
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#buffered;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      // Fast path: the frame lies inside one chunk; hand out a view.
      const out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    return out;
  }
}

/** The 4-byte length prefix for a frame of `length` bytes. */
export function lengthPrefix(length: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(length, 0);
  return b;
}
