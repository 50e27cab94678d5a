import type { Writable } from 'node:stream';

/**
 * How the messages of a gRPC method become bytes and back: the one thing this
 * gRPC-on-node:http2 layer needs to know about the protocol it carries.
 */
export interface GrpcCodec<M> {
  /** The message type's name, for errors (`Packet`). */
  readonly name: string;
  /** Writes one message with its 5-byte gRPC prefix to `stream`; false when the stream's buffer is full. */
  write(stream: Writable, message: M, callback?: (err?: Error | null) => void): boolean;
  /** Decodes one message (without its prefix); throws when the bytes are not one. */
  decode(bytes: Buffer): M;
  /**
   * Optional fast path for a message that arrived over several HTTP/2 frames:
   * decodes it from views of those frames without joining them, handing each
   * resulting message to `emit`. Returns false to have it joined and passed to `decode`.
   */
  decodeParts?(parts: Buffer[], length: number, emit: (message: M) => void): boolean;
}
