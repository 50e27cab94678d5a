import type { Http2Stream } from 'node:http2';
import { GrpcCode, GrpcMessageReader, GrpcStatusError } from './grpc-message.js';
import { decodeDataParts, decodePacket } from '../packet-codec.js';
import { PacketType, type Packet } from '../packets.js';

/**
 * Reads the Packets of a gRPC stream off an HTTP/2 stream, client or server
 * side. A framing error or a message that is not a Packet calls `onError` once;
 * everything after it is read and dropped (so flow control never stalls).
 */
export function readPackets(
  stream: Http2Stream,
  maxMessage: number,
  onPacket: (p: Packet) => void,
  onError: (err: GrpcStatusError) => void,
): void {
  const reader = new GrpcMessageReader(maxMessage);
  let failed = false;
  const onMessage = (m: Buffer): void => {
    let p: Packet;
    try {
      p = decodePacket(m);
    } catch {
      throw new GrpcStatusError(GrpcCode.INTERNAL, 'malformed Packet message');
    }
    onPacket(p);
  };
  // A DATA message spread over HTTP/2 frames (16 KiB each, so most of a transfer's 32 KiB
  // messages) goes on as one DATA packet per frame's share of its payload: the bytes of a
  // connection in the same order, without joining them into a copy.
  const onParts = (parts: Buffer[], length: number): boolean => {
    const d = decodeDataParts(parts, length);
    if (d === undefined) return false;
    for (const data of d.data) onPacket({ type: PacketType.DATA, data: { connectID: d.connectID, error: '', data } });
    return true;
  };
  stream.on('data', (chunk: Buffer) => {
    if (failed) return;
    try {
      reader.push(chunk, onMessage, onParts);
    } catch (err) {
      if (!(err instanceof GrpcStatusError)) throw err;
      failed = true;
      onError(err);
    }
  });
}
