import type { Writable } from 'node:stream';
import type { GrpcCodec } from './grpc/grpc-codec.js';
import { GRPC_PREFIX } from './grpc/grpc-message.js';
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

/** DATA payloads at least this large are written beside their header instead of copied into it. */
const SPLIT_PAYLOAD = 4096;

/**
 * Writes a Packet to an HTTP/2 stream as one gRPC message. A large DATA payload
 * goes out as a chunk of its own behind a small header (corked, so HTTP/2 takes
 * both in one writev): it is neither copied nor given a buffer of its own, which
 * in a bulk transfer is most of the allocation and the garbage collection.
 * `callback` runs once HTTP/2 took the whole message.
 */
export function writeGrpcPacket(stream: Writable, p: Packet, callback?: (err?: Error | null) => void): boolean {
  const d = fastData(p);
  if (d === undefined || d.data.length < SPLIT_PAYLOAD) return stream.write(encodeGrpcPacket(p), callback);
  const head = Buffer.allocUnsafe(GRPC_PREFIX + dataHeadSize(d.connectID, d.data.length));
  writeDataHead(head, GRPC_PREFIX, d.connectID, d.data.length);
  head[0] = 0;
  head.writeUInt32BE(head.length - GRPC_PREFIX + d.data.length, 1);
  stream.cork();
  stream.write(head);
  const ok = stream.write(d.data, callback);
  stream.uncork();
  return ok;
}

// The DATA packets the hand-written codec encodes: no error text, a non-negative connectID
// (a negative one is a ten-byte two's-complement varint: rare enough for the generated path).
function fastData(p: Packet): { connectID: bigint; data: Buffer } | undefined {
  const d = p.data;
  return p.type === PacketType.DATA && d !== undefined && d.error === '' && d.connectID >= 0n ? d : undefined;
}

// Bytes of a DATA packet before its payload: type, the Data message's tag and length, connectID, payload tag and length.
function dataHeadSize(connectID: bigint, length: number): number {
  const idBytes = connectID === 0n ? 0 : 1 + bigVarintSize(connectID);
  const inner = idBytes + (length === 0 ? 0 : 1 + varintSize(length) + length);
  return 2 + 1 + varintSize(inner) + inner - length;
}

// Writes the part of a DATA packet before its payload at `off`; returns where the payload goes.
function writeDataHead(out: Buffer, off: number, connectID: bigint, length: number): number {
  const idBytes = connectID === 0n ? 0 : 1 + bigVarintSize(connectID);
  out[off] = TAG_TYPE;
  out[off + 1] = PacketType.DATA;
  out[off + 2] = TAG_DATA;
  off = writeVarint(out, off + 3, idBytes + (length === 0 ? 0 : 1 + varintSize(length) + length));
  if (idBytes > 0) {
    out[off++] = TAG_CONNECT_ID;
    off = writeBigVarint(out, off, connectID);
  }
  if (length > 0) {
    out[off++] = TAG_BYTES;
    off = writeVarint(out, off, length);
  }
  return off;
}

// Encodes `p` into a new buffer after `prefix` reserved (unwritten) bytes.
function encodeAfter(p: Packet, prefix: number): Buffer {
  const d = fastData(p);
  if (d !== undefined) {
    const out = Buffer.allocUnsafe(prefix + dataHeadSize(d.connectID, d.data.length) + d.data.length);
    out.set(d.data, writeDataHead(out, prefix, d.connectID, d.data.length));
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

/**
 * A DATA message that arrived in several chunks, decoded without joining them:
 * its connectID and its payload as views of the chunks. Undefined unless the
 * layout is the fast one (as decodeData) with the header inside the first chunk.
 */
export function decodeDataParts(parts: readonly Buffer[], length: number): { connectID: bigint; data: Buffer[] } | undefined {
  const first = parts[0];
  if (first === undefined || first.length < 3 || first[0] !== TAG_TYPE || first[1] !== PacketType.DATA || first[2] !== TAG_DATA)
    return undefined;
  const len = readVarint(first, 3, first.length);
  if (len === undefined || len[1] + len[0] !== length) return undefined;
  let pos = len[1];
  let connectID = 0n;
  if (pos < first.length && first[pos] === TAG_CONNECT_ID) {
    const id = readBigVarint(first, pos + 1, first.length);
    if (id === undefined) return undefined;
    [connectID, pos] = id;
  }
  if (pos >= first.length || first[pos] !== TAG_BYTES) return undefined;
  const n = readVarint(first, pos + 1, first.length);
  // The payload must run exactly to the end of the message.
  if (n === undefined || n[1] + n[0] !== length) return undefined;
  const data = [first.subarray(n[1]), ...parts.slice(1)].filter((b) => b.length > 0);
  return { connectID, data };
}

/** Deserialises a Packet. Throws (as the generated decoder does) on malformed input. */
export function decodePacket(buf: Buffer): Packet {
  return decodeData(buf) ?? Packet.decode(buf);
}

/** Konnectivity's Packet as the gRPC layer's message: the fast DATA paths above, the generated code for the rest. */
export const packetCodec: GrpcCodec<Packet> = {
  name: 'Packet',
  write: writeGrpcPacket,
  decode: decodePacket,
  // A DATA message spread over HTTP/2 frames (16 KiB each, so most of a transfer's 32 KiB
  // messages) goes on as one DATA packet per frame's share of its payload: the bytes of a
  // connection in the same order, without joining them into a copy.
  decodeParts(parts, length, emit) {
    const d = decodeDataParts(parts, length);
    if (d === undefined) return false;
    for (const data of d.data) emit({ type: PacketType.DATA, data: { connectID: d.connectID, error: '', data } });
    return true;
  },
};
