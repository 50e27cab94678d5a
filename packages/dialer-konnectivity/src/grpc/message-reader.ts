import type { Http2Stream } from 'node:http2';
import type { GrpcCodec } from './grpc-codec.js';
import { GrpcCode, GrpcMessageReader, GrpcStatusError } from './grpc-message.js';

/**
 * Reads the messages of a gRPC stream off an HTTP/2 stream, client or server
 * side. A framing error or bytes that `codec` cannot decode call `onError`
 * once; everything after it is read and dropped (so flow control never stalls).
 * A chunk `admit` turns down is dropped before it reaches the message buffer.
 * Returns a function that stops reading (drop it to let go of what was buffered).
 */
export function readMessages<M>(
  stream: Http2Stream,
  maxMessage: number,
  codec: GrpcCodec<M>,
  onMessage: (message: M) => void,
  onError: (err: GrpcStatusError) => void,
  admit?: (chunk: Buffer) => boolean,
): () => void {
  const reader = new GrpcMessageReader(maxMessage);
  let failed = false;
  const decode = (bytes: Buffer): void => {
    let message: M;
    try {
      message = codec.decode(bytes);
    } catch {
      throw new GrpcStatusError(GrpcCode.INTERNAL, `malformed ${codec.name} message`);
    }
    onMessage(message);
  };
  const decodeParts = codec.decodeParts?.bind(codec);
  const onParts = decodeParts ? (parts: Buffer[], length: number): boolean => decodeParts(parts, length, onMessage) : undefined;
  const onData = (chunk: Buffer): void => {
    if (failed || (admit !== undefined && !admit(chunk))) return;
    try {
      reader.push(chunk, decode, onParts);
    } catch (err) {
      if (!(err instanceof GrpcStatusError)) throw err;
      failed = true;
      onError(err);
    }
  };
  stream.on('data', onData);
  return () => {
    failed = true;
    stream.removeListener('data', onData);
  };
}
