import { GRPC_PREFIX } from './grpc-message.js';
import { Packet, PacketType } from './gen/konnectivity-client/proto/client/client.js';

/**
 * Packet (de)serialisation for the gRPC hops, with a hand-written fast path for
 * DATA, which is nearly every message of a transfer. The generated encoder grows
 * its buffer as it writes and then copies it out (and grpc-js copies once more);
 * this one sizes the message first and copies the payload once. Decoding hands
 * out the payload as a view of the received message. Anything else, or any DATA
 * message in a shape it does not expect (unknown fields, another field order, a
 * non-empty error), goes through the generated code, so the wire is unchanged
 * (protobuf field order, proto3 defaults omitted).
 */

// Tags: (field << 3) | wire type.
const TAG_TYPE = 0x08; // Packet.type, varint
const TAG_DATA = 0x22; // Packet.data, length-delimited (field 4)
const TAG_CONNECT_ID = 0x08; // Data.connectID, varint
const TAG_BYTES = 0x1a; // Data.data, length-delimited (field 3)

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function bigVarintSize(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, off: number, v: number): number {
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[off++] = v;
  return off;
}

function writeBigVarint(buf: Buffer, off: number, v: bigint): number {
  while (v >= 0x80n) {
    buf[off++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[off++] = Number(v);
  return off;
}

/** Serialises a Packet (the gRPC message, without its 5-byte prefix). */
export function encodePacket(p: Packet): Buffer {
  return encodeAfter(p, 0);
}

/**
 * A Packet as one gRPC length-prefixed message (flag byte 0, u32-BE length,
 * protobuf), for our own HTTP/2 streams: DATA is written in place after the
 * prefix, so its payload is copied once.
 */
export function encodeGrpcPacket(p: Packet): Buffer {
  const out = encodeAfter(p, GRPC_PREFIX);
  out[0] = 0;
  out.writeUInt32BE(out.length - GRPC_PREFIX, 1);
  return out;
}

// Encodes `p` into a new buffer after `prefix` reserved (unwritten) bytes.
function encodeAfter(p: Packet, prefix: number): Buffer {
  const d = p.data;
  // A negative connectID is a ten-byte two's-complement varint: rare enough for the generated path.
  if (p.type === PacketType.DATA && d !== undefined && d.error === '' && d.connectID >= 0n) {
    const idBytes = d.connectID === 0n ? 0 : 1 + bigVarintSize(d.connectID);
    const dataBytes = d.data.length === 0 ? 0 : 1 + varintSize(d.data.length) + d.data.length;
    const inner = idBytes + dataBytes;
    const out = Buffer.allocUnsafe(prefix + 2 + 1 + varintSize(inner) + inner);
    out[prefix] = TAG_TYPE;
    out[prefix + 1] = PacketType.DATA;
    out[prefix + 2] = TAG_DATA;
    let off = writeVarint(out, prefix + 3, inner);
    if (idBytes > 0) {
      out[off++] = TAG_CONNECT_ID;
      off = writeBigVarint(out, off, d.connectID);
    }
    if (dataBytes > 0) {
      out[off++] = TAG_BYTES;
      off = writeVarint(out, off, d.data.length);
      out.set(d.data, off);
    }
    return out;
  }
  const u8 = Packet.encode(p).finish();
  if (prefix === 0) return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
  const out = Buffer.allocUnsafe(prefix + u8.byteLength);
  out.set(u8, prefix);
  return out;
}

// Reads a varint at `pos`; returns [value, next] or undefined past the end / above 2^53.
function readVarint(buf: Buffer, pos: number, end: number): [number, number] | undefined {
  let v = 0;
  let mul = 1;
  while (pos < end) {
    const b = buf[pos++] as number;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v <= Number.MAX_SAFE_INTEGER ? [v, pos] : undefined;
    mul *= 128;
    if (mul > 2 ** 56) return undefined;
  }
  return undefined;
}

function readBigVarint(buf: Buffer, pos: number, end: number): [bigint, number] | undefined {
  let v = 0n;
  let shift = 0n;
  while (pos < end && shift < 64n) {
    const b = buf[pos++] as number;
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [BigInt.asIntN(64, v), pos];
    shift += 7n;
  }
  return undefined;
}

// DATA in exactly the layout encodePacket writes (which is also what grpc-go writes), else undefined.
function decodeData(buf: Buffer): Packet | undefined {
  if (buf.length < 3 || buf[0] !== TAG_TYPE || buf[1] !== PacketType.DATA || buf[2] !== TAG_DATA) return undefined;
  const len = readVarint(buf, 3, buf.length);
  if (len === undefined || len[1] + len[0] !== buf.length) return undefined;
  let pos = len[1];
  const end = buf.length;
  let connectID = 0n;
  let data: Buffer = Buffer.alloc(0);
  if (pos < end && buf[pos] === TAG_CONNECT_ID) {
    const id = readBigVarint(buf, pos + 1, end);
    if (id === undefined) return undefined;
    [connectID, pos] = id;
  }
  if (pos < end && buf[pos] === TAG_BYTES) {
    const n = readVarint(buf, pos + 1, end);
    if (n === undefined || n[1] + n[0] > end) return undefined;
    data = buf.subarray(n[1], n[1] + n[0]);
    pos = n[1] + n[0];
  }
  if (pos !== end) return undefined;
  return { type: PacketType.DATA, data: { connectID, error: '', data } };
}

/** Deserialises a Packet. Throws (as the generated decoder does) on malformed input. */
export function decodePacket(buf: Buffer): Packet {
  return decodeData(buf) ?? Packet.decode(buf);
}
