import { DATA_HEADER_BYTES } from '@spoke/transport-core/protocol';

/**
 * Reusable buffers for outgoing frames that must be sent as one piece (a
 * WebSocket message). A fresh 64 KiB Buffer per DATA frame costs an
 * allocation, page faults and garbage-collector work per frame, which at
 * hundreds of MiB/s outweighs the copy itself; a buffer goes back to the pool
 * once the socket has written it.
 *
 * Bounded: at most `maxFree` idle slabs are kept; frames larger than a slab
 * get a buffer of their own that is never pooled.
 */
export class FramePool {
  readonly slabSize: number;
  readonly #maxFree: number;
  readonly #free: ArrayBufferLike[] = [];

  constructor(slabSize: number, maxFree: number) {
    this.slabSize = slabSize;
    this.#maxFree = maxFree;
  }

  /** A buffer of exactly `length` bytes (contents undefined). Give it back with {@link release}. */
  take(length: number): Buffer {
    if (length > this.slabSize) return Buffer.allocUnsafeSlow(length);
    const slab = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.slabSize).buffer;
    return Buffer.from(slab, 0, length);
  }

  /** Returns a buffer from {@link take} once nothing reads it any more. */
  release(buf: Buffer): void {
    const slab = buf.buffer;
    if (slab.byteLength !== this.slabSize || buf.byteOffset !== 0 || this.#free.length >= this.#maxFree) return;
    this.#free.push(slab);
  }

  /** Idle slabs held (for tests and metrics). */
  get idle(): number {
    return this.#free.length;
  }
}

/**
 * The process-wide pool for DATA frames of the default size (64 KiB payload):
 * shared by every WebSocket carrier, so idle memory stays at most 2 MiB however
 * many sessions the process holds.
 */
export const dataFramePool = new FramePool(DATA_HEADER_BYTES + 64 * 1024, 32);
