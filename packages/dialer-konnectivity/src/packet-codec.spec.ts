import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Packet } from './gen/konnectivity-client/proto/client/client.js';
import { closeRequest, dataPacket, dialRequest, dialResponse, drainPacket, PacketType } from './packets.js';
import { decodePacket, encodePacket } from './packet-codec.js';

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
    const others = [dialRequest('10.0.0.5:10250', 7n), dialResponse(9n, 3n, 'refused'), closeRequest(5n), drainPacket(), { type: PacketType.DATA, data: { connectID: 4n, error: 'boom', data: Buffer.from('x') } }];
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
