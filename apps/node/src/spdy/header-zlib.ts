import zlib from 'node:zlib';
import { adler32 } from './adler32.js';
import { SPDY3_DICTIONARY } from './dictionary.js';

/**
 * The receiving half of SPDY header compression: one zlib stream per
 * connection, primed with the SPDY/3 dictionary, flushed (Z_SYNC_FLUSH) after
 * every header block. Node's zlib is asynchronous, so each block resolves
 * once zlib has produced everything the flush released.
 */
export class HeaderInflater {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private out: Buffer[] = [];
  private failure: Error | undefined;

  constructor() {
    this.inflate.on('data', (chunk: Buffer) => this.out.push(chunk));
    this.inflate.on('error', (err) => {
      this.failure = err;
    });
  }

  /** Decompresses one header block. */
  decompress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.inflate.write(block);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.failure) {
          reject(this.failure);
          return;
        }
        const result = Buffer.concat(this.out);
        this.out = [];
        resolve(result);
      });
    });
  }

  /** Releases zlib's memory. */
  close(): void {
    this.inflate.destroy();
  }
}

function storedBlock(piece: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0; // BFINAL=0, BTYPE=00 (stored), padded to the byte boundary
  head.writeUInt16LE(piece.length, 1);
  head.writeUInt16LE(~piece.length & 0xffff, 3);
  return Buffer.concat([head, piece]);
}

/**
 * The sending half: a zlib stream made of stored (uncompressed) blocks, so
 * each header block is encoded synchronously and ends byte-aligned, which is
 * all a sync-flushed block needs to be. Peers inflate it like any zlib data;
 * our header blocks are a few bytes, so compression would gain nothing.
 */
export class HeaderDeflater {
  private started = false;

  /** Encodes one header block as the next piece of the connection's zlib stream. */
  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      // CMF: deflate with a 32 KiB window; FLG: FDICT set, FCHECK makes the pair a multiple of 31.
      const cmf = 0x78;
      let flg = 0x20;
      flg += (31 - ((cmf * 256 + flg) % 31)) % 31;
      const dictId = Buffer.alloc(4);
      dictId.writeUInt32BE(adler32(SPDY3_DICTIONARY));
      parts.push(Buffer.from([cmf, flg]), dictId);
    }
    for (let at = 0; at < block.length; at += 0xffff) parts.push(storedBlock(block.subarray(at, at + 0xffff)));
    // An empty stored block, exactly what zlib's Z_SYNC_FLUSH emits: Go's inflater hands out a stored
    // block's bytes only when the next block starts, so without it the reader runs past the frame.
    parts.push(storedBlock(Buffer.alloc(0)));
    return Buffer.concat(parts);
  }
}
