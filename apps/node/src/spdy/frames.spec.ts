import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adler32 } from './adler32.js';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { ControlType, FrameReader, controlFrame, dataFrame, decodeHeaderBlock, encodeHeaderBlock } from './frames.js';
import { HeaderDeflater, HeaderInflater } from './header-zlib.js';

describe('SPDY/3 framing', () => {
  it('has the 1423-byte draft-3 dictionary', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(adler32(SPDY3_DICTIONARY)).toBe(0xe3c6a7c2);
  });

  it('splits frames at any chunk boundary', () => {
    const bytes = Buffer.concat([controlFrame(ControlType.PING, 0, Buffer.from([0, 0, 0, 1])), dataFrame(3, 1, Buffer.from('hello'))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new FrameReader();
      const frames = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(frames).toHaveLength(2);
      expect(frames[0]).toMatchObject({ control: true, version: 3, type: ControlType.PING });
      expect(frames[1]).toMatchObject({ control: false, streamId: 3, flags: 1 });
    }
  });

  it('header blocks survive our deflater and a real zlib inflater, block after block', async () => {
    const deflater = new HeaderDeflater();
    const inflater = new HeaderInflater();
    for (let i = 0; i < 3; i++) {
      const headers = new Map([
        ['streamtype', 'data'],
        ['port', String(8000 + i)],
        ['requestid', String(i)],
      ]);
      expect(decodeHeaderBlock(await inflater.decompress(deflater.compress(encodeHeaderBlock(headers))))).toEqual(headers);
    }
    inflater.close();
  });

  it('inflates header blocks that zlib compressed with sync flushes (what Go sends)', async () => {
    const deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
    const chunks: Buffer[] = [];
    deflate.on('data', (c: Buffer) => chunks.push(c));
    const compress = (block: Buffer): Promise<Buffer> =>
      new Promise((resolve) => {
        deflate.write(block);
        deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(chunks.splice(0))));
      });
    const inflater = new HeaderInflater();
    for (const port of ['80', '443']) {
      const headers = new Map([
        ['streamtype', 'error'],
        ['port', port],
      ]);
      expect(decodeHeaderBlock(await inflater.decompress(await compress(encodeHeaderBlock(headers))))).toEqual(headers);
    }
    deflate.destroy();
    inflater.close();
  });
});
