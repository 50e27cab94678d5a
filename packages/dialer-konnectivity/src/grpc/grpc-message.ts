/**
 * gRPC over HTTP/2, the parts our own HTTP/2 streams need: the length-prefixed
 * message framing, status codes and the `grpc-message` text encoding
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md).
 */

/** Bytes of the gRPC message prefix: compressed flag, u32-BE length. */
export const GRPC_PREFIX = 5;

/** The content type of gRPC requests and responses. */
export const GRPC_CONTENT_TYPE = 'application/grpc';

/** The status codes we send or read. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** A gRPC status to end a stream with (or read from one). */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${details}`);
    this.name = 'GrpcStatusError';
  }
}

/** grpc-go's and grpc-js's default receive limit. */
export const DEFAULT_MAX_MESSAGE = 4 * 1024 * 1024;

/**
 * Splits a gRPC byte stream into messages. Whole messages inside one chunk come
 * out as views of it (no copy); a message spread over chunks is joined once.
 * Throws a {@link GrpcStatusError} for a compressed message (we announce no
 * compression) or one over `maxMessage`; the stream is then unusable.
 */
export class GrpcMessageReader {
  readonly #max: number;
  #parts: Buffer[] = [];
  #have = 0;
  /** Size of the message being joined, prefix included, once its prefix is known. */
  #need = -1;

  constructor(maxMessage = DEFAULT_MAX_MESSAGE) {
    this.#max = maxMessage;
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.#have;
  }

  /**
   * Feeds a chunk; calls `onMessage` with each complete message. A message that
   * arrived in several chunks is first offered to `onParts` as views of them
   * (its bytes in order, no copy); when that returns false it is joined.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void, onParts?: (parts: Buffer[], length: number) => boolean): void {
    let buf = chunk;
    let off = 0;
    if (this.#have > 0) {
      this.#parts.push(chunk);
      this.#have += chunk.length;
      if (this.#need < 0) {
        if (this.#have < GRPC_PREFIX) return;
        this.#need = GRPC_PREFIX + this.#length(this.#byte(0), this.#byte(1), this.#byte(2), this.#byte(3), this.#byte(4));
      }
      if (this.#have < this.#need) return;
      const split = onParts ? this.#split() : undefined;
      if (split && onParts?.(split.body, this.#need - GRPC_PREFIX)) buf = split.rest;
      else buf = Buffer.concat(this.#parts, this.#have);
      this.#parts = [];
      this.#have = 0;
      this.#need = -1;
    }
    while (buf.length - off >= GRPC_PREFIX) {
      const end =
        off +
        GRPC_PREFIX +
        this.#length(buf[off] as number, buf[off + 1] as number, buf[off + 2] as number, buf[off + 3] as number, buf[off + 4] as number);
      if (end > buf.length) break;
      onMessage(buf.subarray(off + GRPC_PREFIX, end));
      off = end;
    }
    if (off < buf.length) {
      const rest = buf.subarray(off);
      this.#parts.push(rest);
      this.#have = rest.length;
      if (rest.length >= GRPC_PREFIX)
        this.#need =
          GRPC_PREFIX + this.#length(rest[0] as number, rest[1] as number, rest[2] as number, rest[3] as number, rest[4] as number);
    }
  }

  // The complete message at the head of #parts as views (prefix skipped), and what follows it.
  #split(): { body: Buffer[]; rest: Buffer } {
    const body: Buffer[] = [];
    let skip = GRPC_PREFIX;
    let left = this.#need - GRPC_PREFIX;
    let rest: Buffer = Buffer.alloc(0);
    for (let p of this.#parts) {
      if (skip > 0) {
        if (p.length <= skip) {
          skip -= p.length;
          continue;
        }
        p = p.subarray(skip);
        skip = 0;
      }
      if (p.length <= left) {
        body.push(p);
        left -= p.length;
      } else {
        // Only the last chunk reaches past the message.
        body.push(p.subarray(0, left));
        rest = p.subarray(left);
        left = 0;
      }
    }
    return { body, rest };
  }

  #byte(i: number): number {
    for (const p of this.#parts) {
      if (i < p.length) return p[i] as number;
      i -= p.length;
    }
    return 0;
  }

  #length(flag: number, b1: number, b2: number, b3: number, b4: number): number {
    if (flag !== 0) {
      throw new GrpcStatusError(
        flag === 1 ? GrpcCode.UNIMPLEMENTED : GrpcCode.INTERNAL,
        flag === 1 ? 'compressed messages are not supported (no grpc-encoding was negotiated)' : `bad message flag ${flag}`,
      );
    }
    const n = b1 * 0x1000000 + ((b2 << 16) | (b3 << 8) | b4);
    if (n > this.#max) throw new GrpcStatusError(GrpcCode.RESOURCE_EXHAUSTED, `received message larger than max (${n} vs. ${this.#max})`);
    return n;
  }
}

/** Percent-encodes a status message for the `grpc-message` trailer, as the spec asks. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Decodes a `grpc-message` value (bad escapes are kept as they are). */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(value[i] as string, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Every value of metadata key `name` in raw HTTP/2 headers (`[name, value, …]`), in order. */
export function metadataValues(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === name) out.push(raw[i + 1] as string);
  return out;
}

/** A status as trailer fields (or the status part of a trailers-only response). */
export function statusHeaders(code: number, message: string): Record<string, string> {
  return { 'grpc-status': String(code), ...(message !== '' ? { 'grpc-message': encodeGrpcMessage(message) } : {}) };
}

/** The status that trailers (or a trailers-only response) carry: undefined for OK. */
export function statusFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): GrpcStatusError | undefined {
  const raw = headers['grpc-status'];
  const code = raw === undefined ? GrpcCode.UNKNOWN : Number(raw);
  if (code === GrpcCode.OK) return undefined;
  const message = headers['grpc-message'];
  return new GrpcStatusError(
    Number.isInteger(code) ? code : GrpcCode.UNKNOWN,
    typeof message === 'string' ? decodeGrpcMessage(message) : raw === undefined ? 'no grpc-status in trailers' : '',
  );
}
