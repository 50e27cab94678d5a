/**
 * `@spoke/transport-core/protocol`: the spoke/1 wire format (PROTOCOL.md) for
 * code that works below a `Session`: the frame codec, the length-prefixed
 * byte-stream framing, the carrier contract a transport implements (the hub's
 * WebSocket carrier is one), and protocol limits.
 *
 * @module protocol
 */
export { encodeFrame, decodeFrame, encodeDataHeader, DATA_HEADER_BYTES } from './mux/codec.js';
export { LengthPrefixedReader, lengthPrefix } from './mux/length-prefix.js';
export { FEATURES, FrameType, LIMITS, PROTOCOL_VERSIONS, frameLimit } from './mux/frame.js';
export type { Frame, ListenFrame, ListenOkFrame, ListenErrFrame, SessionRole } from './mux/frame.js';
export type { FrameCarrier, CarrierHandlers } from './mux/carrier.js';
export { createStreamCarrier } from './mux/stream-carrier.js';
export { SessionStream } from './mux/session-stream.js';
