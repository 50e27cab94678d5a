/**
 * SPDY/3.1 framing (the subset kubectl's port-forward uses): every frame has
 * an 8-byte header; control frames start with the high bit set, a 15-bit
 * version (3) and a 16-bit type; data frames start with a 31-bit stream id.
 * Both then carry 8 bits of flags and a 24-bit length.
 */

/** Control frame types. */
export const ControlType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** FLAG_FIN on data, SYN_STREAM, SYN_REPLY and HEADERS frames. */
export const FLAG_FIN = 0x01;

/** RST_STREAM status codes we send. */
export const RstStatus = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6 } as const;

/** The largest payload a frame length field can describe. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

/** A frame as read off the wire. */
export type SpdyFrame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; version: number; type: number; flags: number; payload: Buffer };

/** Splits a byte stream into frames; keeps partial frames until the rest arrives. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds bytes and returns every frame now complete. */
  push(chunk: Buffer): SpdyFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: SpdyFrame[] = [];
    while (this.pending.length >= 8) {
      const length = this.pending.readUIntBE(5, 3);
      if (this.pending.length < 8 + length) break;
      const body = this.pending.subarray(8, 8 + length);
      const flags = this.pending[4] ?? 0;
      const word = this.pending.readUInt32BE(0);
      if (word & 0x80000000) {
        frames.push({ control: true, version: (word >>> 16) & 0x7fff, type: word & 0xffff, flags, payload: body });
      } else {
        frames.push({ control: false, streamId: word & 0x7fffffff, flags, data: body });
      }
      this.pending = this.pending.subarray(8 + length);
    }
    return frames;
  }
}

/** Encodes a control frame. */
export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x8000 | 3) * 0x10000 + type);
  head[4] = flags;
  head.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([head, payload]);
}

/** Encodes a data frame (payload at most {@link MAX_FRAME_PAYLOAD}). */
export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff);
  head[4] = flags;
  head.writeUIntBE(data.length, 5, 3);
  return data.length === 0 ? head : Buffer.concat([head, data]);
}

/** A 32-bit big-endian integer. */
export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/** Encodes an uncompressed SPDY/3 name/value header block (names lower-cased, multiple values NUL-joined). */
export function encodeHeaderBlock(headers: Map<string, string>): Buffer {
  const parts: Buffer[] = [u32(headers.size)];
  for (const [name, value] of headers) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Decodes an uncompressed header block; names lower-cased, repeated values joined with NUL. */
export function decodeHeaderBlock(block: Buffer): Map<string, string> {
  const headers = new Map<string, string>();
  let at = 0;
  const need = (n: number): void => {
    if (at + n > block.length) throw new Error('truncated SPDY header block');
  };
  need(4);
  const count = block.readUInt32BE(at);
  at += 4;
  for (let i = 0; i < count; i++) {
    need(4);
    const nameLength = block.readUInt32BE(at);
    at += 4;
    need(nameLength);
    const name = block.toString('utf8', at, at + nameLength).toLowerCase();
    at += nameLength;
    need(4);
    const valueLength = block.readUInt32BE(at);
    at += 4;
    need(valueLength);
    headers.set(name, block.toString('utf8', at, at + valueLength));
    at += valueLength;
  }
  return headers;
}
