/**
 * The benchmark target's tiny protocol: the first byte a client sends picks
 * what the target does with the connection.
 *
 * - `P` push: the target counts every byte until the client half-closes, then
 *   answers the count as a u64-BE and closes.
 * - `G` get: 8 more bytes (u64-BE) give a size; the target sends that many
 *   bytes, then closes its side.
 * - `E` echo: every following byte is sent back; the client's half-close ends it.
 */
export const OP_PUSH = 0x50;
export const OP_GET = 0x47;
export const OP_ECHO = 0x45;

/** Bytes per write on both ends of a bulk transfer. */
export const CHUNK_BYTES = 64 * 1024;

/** One shared write buffer (contents do not matter; it is never mutated). */
export const CHUNK: Buffer = Buffer.alloc(CHUNK_BYTES, 0xa5);

/** The `G` request for `size` bytes. */
export function getRequest(size: number): Buffer {
  const req = Buffer.allocUnsafe(9);
  req[0] = OP_GET;
  req.writeBigUInt64BE(BigInt(size), 1);
  return req;
}
