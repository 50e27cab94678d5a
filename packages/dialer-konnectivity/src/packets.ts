import { randomBytes } from 'node:crypto';
import { PacketType, type Packet } from './gen/konnectivity-client/proto/client/client.js';

/** Upstream's default receive limit is 4 MiB; we never send DATA larger than this. */
export const MAX_DATA_CHUNK = 32 * 1024;

/** A random positive int63, like Go's `rand.Int63()` (upstream dial IDs). Never 0. */
export function randomInt63(): bigint {
  const id = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
  return id === 0n ? 1n : id;
}

// Every builder sets both `type` and the matching payload: receivers switch on
// `type` and read the member, so a missing member would read as zeros.

/** DIAL_REQ for a TCP destination. */
export function dialRequest(address: string, random: bigint): Packet {
  return { type: PacketType.DIAL_REQ, dialRequest: { protocol: 'tcp', address, random } };
}

/** DIAL_RSP: success carries a connectID, failure an error text and connectID 0. */
export function dialResponse(random: bigint, connectID: bigint, error = ''): Packet {
  return { type: PacketType.DIAL_RSP, dialResponse: { random, connectID, error } };
}

/** DATA for one established connection. */
export function dataPacket(connectID: bigint, data: Buffer): Packet {
  return { type: PacketType.DATA, data: { connectID, data, error: '' } };
}

/** CLOSE_REQ for an established connection. */
export function closeRequest(connectID: bigint): Packet {
  return { type: PacketType.CLOSE_REQ, closeRequest: { connectID } };
}

/** CLOSE_RSP: confirms a close, or announces that the destination closed. */
export function closeResponse(connectID: bigint, error = ''): Packet {
  return { type: PacketType.CLOSE_RSP, closeResponse: { connectID, error } };
}

/** DIAL_CLS: cancels (or reports the end of) a dial that has no connectID yet. */
export function closeDial(random: bigint): Packet {
  return { type: PacketType.DIAL_CLS, closeDial: { random } };
}

/** DRAIN: the agent is shutting down; prefer other agents for new dials. */
export function drainPacket(): Packet {
  return { type: PacketType.DRAIN, drain: {} };
}

/** Splits a buffer into DATA-sized slices without copying. */
export function chunks(buf: Buffer, size = MAX_DATA_CHUNK): Buffer[] {
  if (buf.length <= size) return [buf];
  const out: Buffer[] = [];
  for (let off = 0; off < buf.length; off += size) out.push(buf.subarray(off, Math.min(buf.length, off + size)));
  return out;
}

/** The enum name of a packet type, for logs and metric labels (`Unknown` otherwise). */
export function packetTypeName(type: number): string {
  return PacketType[type] ?? 'Unknown';
}

export { PacketType };
export type { Packet };
