import { describe, expect, it } from 'vitest';
import { SpokeError } from '../errors.js';
import { decodeFrame, encodeFrame } from './codec.js';
import type { Frame } from './frame.js';
import { LengthPrefixedReader, lengthPrefix } from './length-prefix.js';

/** One of every frame kind, with edge values. */
export const FIXTURES: Frame[] = [
  { type: 'DATA', stream: 3, data: Buffer.from('hi') },
  { type: 'DATA', stream: 2 ** 32 - 1, data: Buffer.alloc(65536, 0xab) },
  { type: 'WINDOW', stream: 0, increment: 2 ** 31 - 1 },
  { type: 'WINDOW', stream: 3, increment: 131072 },
  { type: 'FIN', stream: 3 },
  {
    type: 'HELLO',
    versions: [1],
    role: 'initiator',
    id: 'agent-1',
    identifiers: 'host=node-1&ipv4=10.0.0.5',
    maxFrame: 65536,
    initialWindow: 262144,
    sessionWindow: 16777216,
  },
  {
    type: 'HELLO',
    versions: [1, 2],
    role: 'responder',
    id: 'hub-ä',
    identifiers: '',
    maxFrame: 1024,
    initialWindow: 1024,
    sessionWindow: 2 ** 31 - 1,
    auth: 'secret',
    extensions: { hubCount: 3 },
  },
  { type: 'DIAL', stream: 1, target: '10.0.0.5:10250' },
  { type: 'DIAL', stream: 2, target: 'unix:/run/x.sock', protocol: 'h2' },
  { type: 'DIAL_OK', stream: 1 },
  { type: 'DIAL_ERR', stream: 1, code: 'ERR_DIAL_REFUSED', message: 'refused' },
  { type: 'RESET', stream: 7, code: 'ERR_STREAM_RESET', message: '' },
  { type: 'PING', nonce: 0 },
  { type: 'PONG', nonce: 2 ** 32 - 1 },
  { type: 'GOAWAY', code: 'ERR_TUNNEL_CLOSED', message: 'closing', lastStream: 41 },
  {
    type: 'HELLO',
    versions: [1],
    role: 'responder',
    id: 'hub',
    identifiers: '',
    maxFrame: 65536,
    initialWindow: 262144,
    sessionWindow: 16777216,
    features: ['listen', 'x'.repeat(64)],
  },
  { type: 'LISTEN', request: 1, bind: '127.0.0.1:0' },
  { type: 'LISTEN', request: 2 ** 32 - 1, bind: '[::1]:9000' },
  { type: 'LISTEN_OK', request: 1, bound: '127.0.0.1:41234' },
  { type: 'LISTEN_ERR', request: 1, code: 'ERR_DIAL_DENIED', message: 'outside --allow-reverse' },
];

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('frame codec', () => {
  it.each(FIXTURES.map((f) => [f.type, f] as const))('round-trips %s', (_name, frame) => {
    expect(decodeFrame(encodeFrame(frame), 1 << 24)).toEqual(frame);
  });

  it('matches the byte-level examples of PROTOCOL.md', () => {
    expect(Buffer.concat([lengthPrefix(7), encodeFrame({ type: 'DATA', stream: 3, data: Buffer.from('hi') })])).toEqual(
      hex('00000007 00 00000003 6869'),
    );
    expect(encodeFrame({ type: 'WINDOW', stream: 3, increment: 131072 })).toEqual(hex('01 00000003 00020000'));
    expect(encodeFrame({ type: 'FIN', stream: 3 })).toEqual(hex('02 00000003'));
    expect(encodeFrame({ type: 'DIAL', stream: 1, target: '10.0.0.5:10250' })).toEqual(
      hex('11 de0002 a17301 a174ae31302e302e302e353a3130323530'),
    );
    expect(encodeFrame({ type: 'DIAL_ERR', stream: 1, code: 'ERR_DIAL_REFUSED', message: 'refused' })).toEqual(
      hex('13 de0003 a17301 a163b04552525f4449414c5f52454655534544 a16da772656675736564'),
    );
    expect(encodeFrame({ type: 'PING', nonce: 7 })).toEqual(hex('15 de0001 a16e07'));
    // Any map encoding is valid on input: a fixmap PING.
    expect(decodeFrame(hex('15 81 a16e 07'))).toEqual({ type: 'PING', nonce: 7 });
    expect(encodeFrame({ type: 'LISTEN', request: 1, bind: '127.0.0.1:0' })).toEqual(hex('18 de0002 a17101 a162ab3132372e302e302e313a30'));
    expect(encodeFrame({ type: 'LISTEN_OK', request: 1, bound: '127.0.0.1:9000' })).toEqual(
      hex('19 de0002 a17101 a162ae3132372e302e302e313a39303030'),
    );
    expect(encodeFrame(FIXTURES[5] as Frame)).toEqual(
      hex(
        '10 de0007 a17691 01 a172a9696e69746961746f72 a26964a76167656e742d31 a3696473b9686f73743d6e6f64652d3126697076343d31302e302e302e35 a26d66ce00010000 a26977ce00040000 a27377ce01000000',
      ),
    );
  });

  it('clips messages to the wire limit on a character boundary', () => {
    const f = decodeFrame(encodeFrame({ type: 'RESET', stream: 1, code: 'ERR_INTERNAL', message: 'é'.repeat(2000) })) as {
      message: string;
    };
    expect(Buffer.byteLength(f.message)).toBeLessThanOrEqual(1024);
    expect(f.message).toBe('é'.repeat(512));
  });

  it.each([
    ['empty', '', 'ERR_PROTOCOL'],
    ['unknown type', 'ff 00', 'ERR_PROTOCOL'],
    ['DATA without payload', '00 00000001', 'ERR_PROTOCOL'],
    ['DATA on stream 0', '00 00000000 41', 'ERR_PROTOCOL'],
    ['short WINDOW', '01 00000001 0000', 'ERR_PROTOCOL'],
    ['zero WINDOW', '01 00000001 00000000', 'ERR_PROTOCOL'],
    ['huge WINDOW', '01 00000001 80000000', 'ERR_PROTOCOL'],
    ['long FIN', '02 00000001 00', 'ERR_PROTOCOL'],
    ['FIN on stream 0', '02 00000000', 'ERR_PROTOCOL'],
    ['PING not msgpack', '15 c1', 'ERR_PROTOCOL'],
    ['PING body not a map', '15 07', 'ERR_PROTOCOL'],
    ['PING trailing bytes', '15 81a16e07 00', 'ERR_PROTOCOL'],
    ['PING negative nonce', '15 81a16e ff', 'ERR_PROTOCOL'],
    ['DIAL stream 0', '11 82 a17300 a174a3613a31', 'ERR_PROTOCOL'],
    ['DIAL target not string', '11 82 a17301 a17401', 'ERR_PROTOCOL'],
    ['HELLO without versions', '10 80', 'ERR_PROTOCOL'],
    ['LISTEN request 0', '18 82 a17100 a162a3613a31', 'ERR_PROTOCOL'],
    ['LISTEN without bind', '18 81 a17101', 'ERR_PROTOCOL'],
    ['LISTEN bind not string', '18 82 a17101 a16201', 'ERR_PROTOCOL'],
    ['LISTEN_OK without request', '19 81 a162a3613a31', 'ERR_PROTOCOL'],
    ['LISTEN_ERR without code', '1a 82 a17101 a16da0', 'ERR_PROTOCOL'],
    ['unassigned type 0x1b', '1b 80', 'ERR_PROTOCOL'],
  ])('rejects %s with %s', (_name, bytes, code) => {
    let caught: unknown;
    try {
      decodeFrame(hex(bytes));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SpokeError);
    expect((caught as SpokeError).code).toBe(code);
  });

  it('rejects DATA above maxFrame with ERR_FRAME_TOO_LARGE', () => {
    const frame = encodeFrame({ type: 'DATA', stream: 1, data: Buffer.alloc(2048) });
    expect(() => decodeFrame(frame, 1024)).toThrowError(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
  });

  it('rejects HELLO fields out of range', () => {
    const base = FIXTURES[5] as Extract<Frame, { type: 'HELLO' }>;
    for (const bad of [
      { maxFrame: 10 },
      { initialWindow: 2 ** 31 },
      { role: 'boss' },
      { id: 'x'.repeat(300) },
      { versions: [] },
      { features: Array.from({ length: 17 }, () => 'f') },
      { features: ['x'.repeat(65)] },
      { features: 'listen' },
      { features: [1] },
    ]) {
      const frame = encodeFrame({ ...base, ...bad } as Frame);
      expect(() => decodeFrame(frame)).toThrowError(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    }
  });
});

describe('length-prefixed reader', () => {
  // The 64 KiB DATA fixture would make the every-boundary loop quadratic; a 300-byte one stands in.
  const small = FIXTURES.map((f) => (f.type === 'DATA' && f.data.length > 300 ? { ...f, data: Buffer.alloc(300, 0xab) } : f));
  const stream = Buffer.concat(small.map((f) => encodeFrame(f)).map((b) => Buffer.concat([lengthPrefix(b.length), b])));

  it('decodes every fixture whatever byte boundary splits the stream', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new LengthPrefixedReader(1 << 20);
      const out: Frame[] = [];
      reader.push(stream.subarray(0, cut), (f) => out.push(decodeFrame(f, 1 << 24)));
      reader.push(stream.subarray(cut), (f) => out.push(decodeFrame(f, 1 << 24)));
      expect(out).toEqual(small);
      expect(reader.buffered).toBe(0);
    }
  });

  it('decodes byte by byte', () => {
    const reader = new LengthPrefixedReader(1 << 20);
    const out: Frame[] = [];
    for (let i = 0; i < stream.length; i++) reader.push(stream.subarray(i, i + 1), (f) => out.push(decodeFrame(f, 1 << 24)));
    expect(out).toEqual(small);
  });

  it('refuses an oversized length before buffering it, and a zero length', () => {
    const reader = new LengthPrefixedReader(1000);
    expect(() => reader.push(lengthPrefix(1001), () => {})).toThrowError(expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }));
    expect(() => new LengthPrefixedReader(1000).push(lengthPrefix(0), () => {})).toThrowError(
      expect.objectContaining({ code: 'ERR_PROTOCOL' }),
    );
  });
});
