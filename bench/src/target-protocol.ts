/**
 * The benchmark target's tiny protocol: the first byte a client sends picks
 * what the target does with the connection.
 *
 * - `P` push: 8 more bytes (u64-BE) give a size; the target counts what
 *   follows and answers the count as a u64-BE once it reached the size. Size 0
 *   means "until the client half-closes". No half-close is needed otherwise,
 *   since Konnectivity has none.
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

/** A `P` or `G` request: the op byte and a u64-BE size. */
export function sizedRequest(op: typeof OP_PUSH | typeof OP_GET, size: number): Buffer {
  const req = Buffer.allocUnsafe(9);
  req[0] = op;
  req.writeBigUInt64BE(BigInt(size), 1);
  return req;
}
