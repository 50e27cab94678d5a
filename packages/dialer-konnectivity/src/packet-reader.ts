import type { Http2Stream } from 'node:http2';
import { GrpcCode, GrpcMessageReader, GrpcStatusError } from './grpc-message.js';
import { decodePacket } from './packet-codec.js';
import type { Packet } from './packets.js';

/**
 * Reads the Packets of a gRPC stream off an HTTP/2 stream, client or server
 * side. A framing error or a message that is not a Packet calls `onError` once;
 * everything after it is read and dropped (so flow control never stalls).
 */
export function readPackets(stream: Http2Stream, maxMessage: number, onPacket: (p: Packet) => void, onError: (err: GrpcStatusError) => void): void {
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
  stream.on('data', (chunk: Buffer) => {
    if (failed) return;
    try {
      reader.push(chunk, onMessage);
    } catch (err) {
      if (!(err instanceof GrpcStatusError)) throw err;
      failed = true;
      onError(err);
    }
  });
}
