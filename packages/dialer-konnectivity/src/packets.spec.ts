import { describe, expect, it } from 'vitest';
import { Packet } from './gen/konnectivity-client/proto/client/client.js';
import { chunks, dataPacket, dialRequest, dialResponse, MAX_DATA_CHUNK, PacketType, randomInt63 } from './packets.js';

describe('packets', () => {
  it('round-trips the full int63 range of dial and connection ids', () => {
    for (const id of [1n, 2n ** 53n + 1n, 2n ** 63n - 1n, randomInt63()]) {
      const back = Packet.decode(Packet.encode(dialResponse(id, id)).finish());
      expect(back.type).toBe(PacketType.DIAL_RSP);
      expect(back.dialResponse?.random).toBe(id);
      expect(back.dialResponse?.connectID).toBe(id);
    }
  });

  it('draws positive int63 dial ids', () => {
    for (let i = 0; i < 1000; i++) {
      const id = randomInt63();
      expect(id > 0n && id < 2n ** 63n).toBe(true);
    }
  });

  it('encodes DIAL_REQ with the tcp protocol and field numbers of upstream', () => {
    const bytes = Buffer.from(Packet.encode(dialRequest('10.0.0.5:10250', 7n)).finish());
    // field 2 (dialRequest), wire type 2: tag 0x12; inside: protocol (0x0a) "tcp", address (0x12), random (0x18) 7.
    expect(bytes.toString('hex')).toBe(
      `12${(2 + 3 + 2 + 14 + 2).toString(16)}0a03${Buffer.from('tcp').toString('hex')}120e${Buffer.from('10.0.0.5:10250').toString('hex')}1807`,
    );
  });

  it('splits DATA into chunks of at most 32 KiB without copying', () => {
    const buf = Buffer.alloc(MAX_DATA_CHUNK * 2 + 5);
    const parts = chunks(buf);
    expect(parts.map((p) => p.length)).toEqual([MAX_DATA_CHUNK, MAX_DATA_CHUNK, 5]);
    expect(parts[0]?.buffer).toBe(buf.buffer);
    expect(Packet.decode(Packet.encode(dataPacket(3n, Buffer.from('hi'))).finish()).data?.data.toString()).toBe('hi');
  });
});
