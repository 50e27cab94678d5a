import { describe, expect, it } from 'vitest';
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  GrpcCode,
  GrpcMessageReader,
  GrpcStatusError,
  statusFromHeaders,
  statusHeaders,
} from './grpc-message.js';

function frame(body: Buffer, flag = 0): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = flag;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

function collect(reader: GrpcMessageReader, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) reader.push(c, (m) => out.push(m.toString('hex')));
  return out;
}

describe('GrpcMessageReader', () => {
  const messages = [Buffer.alloc(0), Buffer.from('a'), Buffer.from('hello world'), Buffer.alloc(70_000, 7)];
  const stream = Buffer.concat(messages.map((m) => frame(m)));
  const expected = messages.map((m) => m.toString('hex'));

  it('reads every message whatever the split: at each byte boundary, and byte by byte', () => {
    for (let cut = 0; cut <= stream.length; cut += cut < 40 ? 1 : 997) {
      expect(collect(new GrpcMessageReader(), [stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
    // The first three messages fit in 300 bytes; the fourth is still incomplete there.
    const bytes = [...stream.subarray(0, 300)].map((b) => Buffer.from([b]));
    expect(collect(new GrpcMessageReader(), bytes)).toEqual(expected.slice(0, 3));
  });

  it('offers a message spread over chunks to onParts as views of them, and joins it when onParts declines', () => {
    for (const accept of [true, false]) {
      for (let cut = 0; cut <= stream.length; cut += cut < 40 ? 1 : 997) {
        const chunks = [stream.subarray(0, cut), stream.subarray(cut, cut + 20_000), stream.subarray(cut + 20_000)];
        const out: string[] = [];
        let views = true;
        const onParts = (parts: Buffer[], length: number): boolean => {
          expect(parts.reduce((n, b) => n + b.length, 0)).toBe(length);
          views &&= parts.every((b) => chunks.some((c) => c.buffer === b.buffer));
          if (accept) out.push(Buffer.concat(parts).toString('hex'));
          return accept;
        };
        const reader = new GrpcMessageReader();
        for (const c of chunks) reader.push(c, (m) => out.push(m.toString('hex')), onParts);
        expect(out).toEqual(expected);
        // Declined, a message is joined, and later ones may be views of the joined copy.
        if (accept) expect(views).toBe(true);
      }
    }
  });

  it('hands out a whole message inside one chunk as a view of it (no copy)', () => {
    const chunk = frame(Buffer.from('view'));
    let seen: Buffer | undefined;
    new GrpcMessageReader().push(chunk, (m) => (seen = m));
    expect(seen?.buffer).toBe(chunk.buffer);
    expect(seen?.toString()).toBe('view');
  });

  it('holds only the incomplete message', () => {
    const r = new GrpcMessageReader();
    r.push(stream.subarray(0, 20), () => {});
    expect(r.buffered).toBe(20 - (5 + 6));
  });

  it('refuses a message over the limit before buffering it, with RESOURCE_EXHAUSTED', () => {
    const r = new GrpcMessageReader(1024);
    const head = Buffer.from([0, 0, 0, 4, 1]);
    expect(() => r.push(head, () => {})).toThrow(GrpcStatusError);
    try {
      new GrpcMessageReader(1024).push(head, () => {});
    } catch (err) {
      expect((err as GrpcStatusError).code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
      expect((err as GrpcStatusError).details).toBe('received message larger than max (1025 vs. 1024)');
    }
  });

  it('refuses compressed messages (no encoding was negotiated) and unknown flags', () => {
    for (const [flag, code] of [
      [1, GrpcCode.UNIMPLEMENTED],
      [2, GrpcCode.INTERNAL],
    ] as const) {
      let caught: unknown;
      try {
        new GrpcMessageReader().push(frame(Buffer.from('x'), flag), () => {});
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(GrpcStatusError);
      expect((caught as GrpcStatusError).code).toBe(code);
    }
  });
});

describe('grpc-message text', () => {
  it('percent-encodes what the spec asks and decodes it back', () => {
    const text = 'dial tcp 10.0.0.1:80: 100% down — café\n';
    const wire = encodeGrpcMessage(text);
    expect(wire).toMatch(/^[\x20-\x7e]*$/);
    expect(wire).toContain('100%25 down %E2%80%94 caf%C3%A9%0A');
    expect(decodeGrpcMessage(wire)).toBe(text);
    expect(decodeGrpcMessage('plain')).toBe('plain');
    expect(decodeGrpcMessage('bad %zz escape')).toBe('bad %zz escape');
  });
});

describe('status headers', () => {
  it('round-trip a status through trailer fields; OK reads as no error, missing grpc-status as UNKNOWN', () => {
    const err = statusFromHeaders(statusHeaders(GrpcCode.UNAVAILABLE, 'agent gone — retry'));
    expect([err?.code, err?.details]).toEqual([GrpcCode.UNAVAILABLE, 'agent gone — retry']);
    expect(statusHeaders(GrpcCode.OK, '')).toEqual({ 'grpc-status': '0' });
    expect(statusFromHeaders({ 'grpc-status': '0' })).toBeUndefined();
    expect(statusFromHeaders({})?.code).toBe(GrpcCode.UNKNOWN);
  });
});
