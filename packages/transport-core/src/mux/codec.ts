import { Packr } from 'msgpackr';
import { SpokeError } from '../errors.js';
import { FrameType, LIMITS, type Frame } from './frame.js';

// Plain maps in, plain objects out; no records/structures so any msgpack peer interoperates.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

/** Bytes before a DATA payload: type + stream id. */
export const DATA_HEADER_BYTES = 5;

/** Writes the 5-byte DATA header for `stream` (the payload follows, uncopied, on byte-stream carriers). */
export function encodeDataHeader(stream: number, into: Buffer = Buffer.allocUnsafe(DATA_HEADER_BYTES), offset = 0): Buffer {
  into[offset] = FrameType.DATA;
  into.writeUInt32BE(stream, offset + 1);
  return into;
}

/** Encodes one frame into a single Buffer (PROTOCOL.md §2). Pure. */
export function encodeFrame(frame: Frame): Buffer {
  switch (frame.type) {
    case 'DATA': {
      const out = Buffer.allocUnsafe(DATA_HEADER_BYTES + frame.data.length);
      encodeDataHeader(frame.stream, out);
      frame.data.copy(out, DATA_HEADER_BYTES);
      return out;
    }
    case 'WINDOW': {
      const out = Buffer.allocUnsafe(9);
      out[0] = FrameType.WINDOW;
      out.writeUInt32BE(frame.stream, 1);
      out.writeUInt32BE(frame.increment, 5);
      return out;
    }
    case 'FIN': {
      const out = Buffer.allocUnsafe(5);
      out[0] = FrameType.FIN;
      out.writeUInt32BE(frame.stream, 1);
      return out;
    }
    case 'HELLO': {
      const body: Record<string, unknown> = {
        v: frame.versions,
        r: frame.role,
        id: frame.id,
        ids: frame.identifiers,
        mf: frame.maxFrame,
        iw: frame.initialWindow,
        sw: frame.sessionWindow,
      };
      if (frame.auth !== undefined) body['a'] = frame.auth;
      if (frame.extensions !== undefined) body['x'] = frame.extensions;
      if (frame.features !== undefined) body['f'] = frame.features;
      return control(FrameType.HELLO, body);
    }
    case 'DIAL':
      return control(
        FrameType.DIAL,
        frame.protocol === undefined ? { s: frame.stream, t: frame.target } : { s: frame.stream, t: frame.target, p: frame.protocol },
      );
    case 'DIAL_OK':
      return control(FrameType.DIAL_OK, { s: frame.stream });
    case 'DIAL_ERR':
      return control(FrameType.DIAL_ERR, { s: frame.stream, c: frame.code, m: clip(frame.message) });
    case 'RESET':
      return control(FrameType.RESET, { s: frame.stream, c: frame.code, m: clip(frame.message) });
    case 'PING':
      return control(FrameType.PING, { n: frame.nonce });
    case 'PONG':
      return control(FrameType.PONG, { n: frame.nonce });
    case 'GOAWAY':
      return control(FrameType.GOAWAY, { c: frame.code, m: clip(frame.message), l: frame.lastStream });
    case 'LISTEN':
      return control(FrameType.LISTEN, { q: frame.request, b: frame.bind });
    case 'LISTEN_OK':
      return control(FrameType.LISTEN_OK, { q: frame.request, b: frame.bound });
    case 'LISTEN_ERR':
      return control(FrameType.LISTEN_ERR, { q: frame.request, c: frame.code, m: clip(frame.message) });
  }
}

function control(type: number, body: Record<string, unknown>): Buffer {
  const packed = packr.pack(body);
  const out = Buffer.allocUnsafe(1 + packed.length);
  out[0] = type;
  packed.copy(out, 1);
  return out;
}

// Messages are for people; keep them within the wire limit, cutting on a character boundary.
function clip(message: string): string {
  if (Buffer.byteLength(message) <= LIMITS.message) return message;
  let out = message.slice(0, LIMITS.message);
  while (Buffer.byteLength(out) > LIMITS.message) out = out.slice(0, -1);
  return out;
}

/**
 * Decodes one frame. Pure; never throws anything but a SpokeError
 * (`ERR_PROTOCOL`, or `ERR_FRAME_TOO_LARGE` for DATA above `maxFrame`).
 * DATA payloads are views into `buf` (no copy).
 */
export function decodeFrame(buf: Buffer, maxFrame: number = LIMITS.maxFrame): Frame {
  if (buf.length === 0) throw protocol('an empty frame');
  const type = buf[0];
  switch (type) {
    case FrameType.DATA: {
      if (buf.length < DATA_HEADER_BYTES + 1) throw protocol('a DATA frame without payload');
      const size = buf.length - DATA_HEADER_BYTES;
      if (size > maxFrame) {
        throw new SpokeError(
          'ERR_FRAME_TOO_LARGE',
          `The peer sent a ${size}-byte DATA frame; this side accepts at most ${maxFrame}. The peer ignores the negotiated maxFrame: upgrade or fix it.`,
        );
      }
      return { type: 'DATA', stream: streamId(buf.readUInt32BE(1)), data: buf.subarray(DATA_HEADER_BYTES) };
    }
    case FrameType.WINDOW: {
      if (buf.length !== 9) throw protocol(`a WINDOW frame of ${buf.length} bytes (expected 9)`);
      const increment = buf.readUInt32BE(5);
      if (increment === 0 || increment > LIMITS.maxWindow) throw protocol(`a WINDOW increment of ${increment}`);
      return { type: 'WINDOW', stream: buf.readUInt32BE(1), increment };
    }
    case FrameType.FIN:
      if (buf.length !== 5) throw protocol(`a FIN frame of ${buf.length} bytes (expected 5)`);
      return { type: 'FIN', stream: streamId(buf.readUInt32BE(1)) };
    case FrameType.HELLO: {
      const m = body(buf, 'HELLO');
      const versions = m['v'];
      if (!Array.isArray(versions) || versions.length === 0 || versions.length > 16 || !versions.every((v) => isUint(v))) {
        throw protocol('a HELLO without a valid version list "v"');
      }
      const role = m['r'];
      if (role !== 'initiator' && role !== 'responder') throw protocol('a HELLO with a role "r" other than initiator/responder');
      const frame: Frame = {
        type: 'HELLO',
        versions,
        role,
        id: str(m, 'id', LIMITS.id, 'HELLO'),
        identifiers: str(m, 'ids', LIMITS.identifiers, 'HELLO'),
        maxFrame: range(m, 'mf', LIMITS.minFrame, LIMITS.maxFrame),
        initialWindow: range(m, 'iw', LIMITS.minFrame, LIMITS.maxWindow),
        sessionWindow: range(m, 'sw', LIMITS.minFrame, LIMITS.maxWindow),
      };
      if (m['a'] !== undefined) frame.auth = str(m, 'a', 4096, 'HELLO');
      const x = m['x'];
      if (x !== undefined) {
        if (typeof x !== 'object' || x === null || Array.isArray(x)) throw protocol('a HELLO whose extensions "x" are not a map');
        frame.extensions = x as Record<string, unknown>;
      }
      const f = m['f'];
      if (f !== undefined) {
        if (
          !Array.isArray(f) ||
          f.length > LIMITS.features ||
          !f.every((v) => typeof v === 'string' && Buffer.byteLength(v) <= LIMITS.feature)
        ) {
          throw protocol(`a HELLO whose features "f" are not a list of at most ${LIMITS.features} short strings`);
        }
        frame.features = f as string[];
      }
      return frame;
    }
    case FrameType.DIAL: {
      const m = body(buf, 'DIAL');
      const frame: Frame = { type: 'DIAL', stream: sid(m, 'DIAL'), target: str(m, 't', LIMITS.target, 'DIAL') };
      if (m['p'] !== undefined) frame.protocol = str(m, 'p', 256, 'DIAL');
      return frame;
    }
    case FrameType.DIAL_OK:
      return { type: 'DIAL_OK', stream: sid(body(buf, 'DIAL_OK'), 'DIAL_OK') };
    case FrameType.DIAL_ERR: {
      const m = body(buf, 'DIAL_ERR');
      return {
        type: 'DIAL_ERR',
        stream: sid(m, 'DIAL_ERR'),
        code: str(m, 'c', 64, 'DIAL_ERR'),
        message: str(m, 'm', LIMITS.message, 'DIAL_ERR'),
      };
    }
    case FrameType.RESET: {
      const m = body(buf, 'RESET');
      return { type: 'RESET', stream: sid(m, 'RESET'), code: str(m, 'c', 64, 'RESET'), message: str(m, 'm', LIMITS.message, 'RESET') };
    }
    case FrameType.PING:
      return { type: 'PING', nonce: range(body(buf, 'PING'), 'n', 0, 2 ** 32 - 1) };
    case FrameType.PONG:
      return { type: 'PONG', nonce: range(body(buf, 'PONG'), 'n', 0, 2 ** 32 - 1) };
    case FrameType.GOAWAY: {
      const m = body(buf, 'GOAWAY');
      return {
        type: 'GOAWAY',
        code: str(m, 'c', 64, 'GOAWAY'),
        message: str(m, 'm', LIMITS.message, 'GOAWAY'),
        lastStream: range(m, 'l', 0, 2 ** 32 - 1),
      };
    }
    case FrameType.LISTEN: {
      const m = body(buf, 'LISTEN');
      return { type: 'LISTEN', request: requestId(m, 'LISTEN'), bind: str(m, 'b', LIMITS.target, 'LISTEN') };
    }
    case FrameType.LISTEN_OK: {
      const m = body(buf, 'LISTEN_OK');
      return { type: 'LISTEN_OK', request: requestId(m, 'LISTEN_OK'), bound: str(m, 'b', LIMITS.target, 'LISTEN_OK') };
    }
    case FrameType.LISTEN_ERR: {
      const m = body(buf, 'LISTEN_ERR');
      return {
        type: 'LISTEN_ERR',
        request: requestId(m, 'LISTEN_ERR'),
        code: str(m, 'c', 64, 'LISTEN_ERR'),
        message: str(m, 'm', LIMITS.message, 'LISTEN_ERR'),
      };
    }
    default:
      throw protocol(`an unknown frame type 0x${(type ?? 0).toString(16).padStart(2, '0')}`);
  }
}

function body(buf: Buffer, name: string): Record<string, unknown> {
  if (buf.length > LIMITS.controlFrame + 1)
    throw protocol(`a ${buf.length}-byte ${name} frame (control frames are at most ${LIMITS.controlFrame} bytes)`);
  let value: unknown;
  try {
    // unpack() rejects trailing bytes after the first value.
    value = packr.unpack(buf.subarray(1));
  } catch (err) {
    throw protocol(`a ${name} frame whose body is not valid MessagePack`, err);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Buffer.isBuffer(value) || value instanceof Map) {
    throw protocol(`a ${name} frame whose body is not a map`);
  }
  return value as Record<string, unknown>;
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function range(m: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = m[key];
  if (!isUint(v) || v < min || v > max) throw protocol(`a field "${key}" of ${JSON.stringify(v) ?? 'undefined'} (allowed ${min}..${max})`);
  return v;
}

function sid(m: Record<string, unknown>, name: string): number {
  const v = m['s'];
  if (!isUint(v) || v < 1 || v > 2 ** 32 - 1) throw protocol(`a ${name} frame with an invalid stream id`);
  return v;
}

function requestId(m: Record<string, unknown>, name: string): number {
  const v = m['q'];
  if (!isUint(v) || v < 1 || v > 2 ** 32 - 1) throw protocol(`a ${name} frame with an invalid request id "q"`);
  return v;
}

function streamId(v: number): number {
  if (v === 0) throw protocol('a stream frame for stream 0');
  return v;
}

function str(m: Record<string, unknown>, key: string, maxBytes: number, name: string): string {
  const v = m[key];
  if (typeof v !== 'string') throw protocol(`a ${name} frame whose "${key}" is not a string`);
  if (Buffer.byteLength(v) > maxBytes) throw protocol(`a ${name} frame whose "${key}" exceeds ${maxBytes} bytes`);
  return v;
}

function protocol(what: string, cause?: unknown): SpokeError {
  return new SpokeError(
    'ERR_PROTOCOL',
    `The peer sent ${what}; it does not speak spoke/1 correctly. Check that both ends run compatible spoke versions.`,
    cause === undefined ? {} : { cause },
  );
}
