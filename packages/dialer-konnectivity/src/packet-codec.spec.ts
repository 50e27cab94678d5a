import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Packet } from './gen/konnectivity-client/proto/client/client.js';
import { closeRequest, dataPacket, dialRequest, dialResponse, drainPacket, PacketType } from './packets.js';
import { Writable } from 'node:stream';
import { decodeDataParts, decodePacket, encodeGrpcPacket, encodePacket, writeGrpcPacket } from './packet-codec.js';

const generated = (p: Packet): Buffer => Buffer.from(Packet.encode(p).finish());

// A small deterministic generator: sizes around every varint boundary, ids over the int63 range.
function* dataCases(): Generator<Packet> {
  const ids = [0n, 1n, 127n, 128n, 16_383n, 16_384n, 2n ** 31n, 2n ** 53n + 1n, 2n ** 63n - 1n];
  const sizes = [0, 1, 127, 128, 16_383, 16_384, 32 * 1024, 100_000];
  for (const id of ids) for (const n of sizes) yield dataPacket(id, randomBytes(n));
}

describe('packet codec (DATA fast path)', () => {
  it('writes DATA byte for byte as the generated encoder does', () => {
    for (const p of dataCases()) expect(encodePacket(p).equals(generated(p))).toBe(true);
  });

  it('reads DATA as the generated decoder does, the payload as a view of the message', () => {
    for (const p of dataCases()) {
      const wire = generated(p);
      const fast = decodePacket(wire);
      expect(fast).toEqual(Packet.decode(wire));
      if (p.data!.data.length > 0) expect(fast.data!.data.buffer).toBe(wire.buffer);
    }
  });

  it('leaves every other packet, and DATA it does not expect, to the generated code', () => {
    const others = [
      dialRequest('10.0.0.5:10250', 7n),
      dialResponse(9n, 3n, 'refused'),
      closeRequest(5n),
      drainPacket(),
      { type: PacketType.DATA, data: { connectID: 4n, error: 'boom', data: Buffer.from('x') } },
    ];
    for (const p of others) {
      expect(encodePacket(p).equals(generated(p))).toBe(true);
      expect(decodePacket(generated(p))).toEqual(Packet.decode(generated(p)));
    }
    // Fields in another order (legal protobuf): data before connectID.
    const reordered = Buffer.from('0804220a1a036162630809'.replace('220a', '2207'), 'hex');
    expect(decodePacket(reordered)).toEqual(Packet.decode(reordered));
    expect(decodePacket(reordered).data?.connectID).toBe(9n);
  });

  it('rejects truncated DATA as the generated decoder does', () => {
    const wire = generated(dataPacket(5n, Buffer.from('hello')));
    for (let cut = 3; cut < wire.length; cut++) {
      expect(() => decodePacket(wire.subarray(0, cut))).toThrow();
    }
  });
});

describe('writeGrpcPacket', () => {
  it('writes the same gRPC message as encodeGrpcPacket, a large payload as a chunk of its own, and calls back once', async () => {
    const cases = [...dataCases(), dialRequest('10.0.0.1:443', 7n), closeRequest(9n), drainPacket()];
    for (const p of cases) {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        writev(parts, done) {
          for (const { chunk } of parts) chunks.push(chunk as Buffer);
          done();
        },
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      });
      let calls = 0;
      await new Promise<void>((resolve) => {
        writeGrpcPacket(sink, p, () => {
          calls++;
          resolve();
        });
      });
      expect(Buffer.concat(chunks).equals(encodeGrpcPacket(p))).toBe(true);
      expect(calls).toBe(1);
      const payload = p.data?.data;
      // A payload of 4 KiB or more is not copied: the last chunk is the payload itself.
      if (payload !== undefined && payload.length >= 4096) expect(chunks[chunks.length - 1]).toBe(payload);
      else expect(chunks).toHaveLength(1);
    }
  });
});

describe('decodeDataParts', () => {
  it('reads DATA split anywhere after its header as views of the parts, and declines anything else', () => {
    for (const p of dataCases()) {
      const whole = encodePacket(p);
      const payload = p.data?.data ?? Buffer.alloc(0);
      const head = whole.length - payload.length;
      for (const cut of [head, head + 1, head + Math.floor(payload.length / 2), whole.length - 1]) {
        if (cut < head || cut >= whole.length) continue;
        const parts = [whole.subarray(0, cut), whole.subarray(cut)];
        const d = decodeDataParts(parts, whole.length);
        expect(d?.connectID).toBe(p.data?.connectID);
        expect(Buffer.concat(d?.data ?? []).equals(payload)).toBe(true);
        expect(d?.data.every((b) => b.buffer === whole.buffer)).toBe(true);
      }
      // The header cut in two: not the fast layout, the caller joins.
      if (head > 2) expect(decodeDataParts([whole.subarray(0, 2), whole.subarray(2)], whole.length)).toBeUndefined();
    }
    const dial = encodePacket(dialRequest('10.0.0.1:443', 7n));
    expect(decodeDataParts([dial.subarray(0, 5), dial.subarray(5)], dial.length)).toBeUndefined();
  });
});
