/** What a carrier reports to the session that owns it. */
export interface CarrierHandlers {
  /** One whole frame arrived (a view; valid until the handler returns or is copied). */
  frame(frame: Buffer): void;
  /** The carrier can take more after `send` returned false. */
  drain(): void;
  /** The peer broke the framing (bad length, text message); the carrier can still send. */
  fault(err: Error): void;
  /** The carrier is gone (peer closed, error, or our own close/destroy). Called once. */
  closed(err?: Error): void;
}

/**
 * Moves whole spoke/1 frames between two peers (PROTOCOL.md §1). The session
 * never touches the underlying socket or WebSocket directly.
 */
export interface FrameCarrier {
  /** Human-readable description for messages, e.g. `"ws 127.0.0.1:8443"`. */
  readonly description: string;
  /** Starts delivering events; `frameLimit` bounds incoming frame sizes. */
  start(handlers: CarrierHandlers, frameLimit: number): void;
  /** Sends one frame. Returns false when congested: stop sending DATA until `drain`. */
  send(frame: Buffer): boolean;
  /** Sends a DATA frame given as header + payload (byte streams write both without copying). */
  sendData(header: Buffer, payload: Buffer): boolean;
  /**
   * Stops reading from the peer. The session calls it before it ends a peer that keeps
   * sending while it takes none of our frames, so that peer cannot make us do more work.
   * Optional: without it the carrier keeps delivering frames, which the ended session drops.
   */
  pause?(): void;
  /** Flushes what was sent, then closes. */
  close(): void;
  /** Closes at once, dropping anything unsent. */
  destroy(): void;
}
