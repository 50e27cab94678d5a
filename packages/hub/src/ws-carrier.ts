import type WebSocket from 'ws';
import { SpokeError, createSession, type Session, type SessionOptions } from '@spoke/transport-core';
import { type CarrierHandlers, type FrameCarrier } from '@spoke/transport-core/protocol';
import { dataFramePool as pool } from './frame-pool.js';

const BINARY = { binary: true, compress: false } as const;

/** Options of {@link createWebSocketCarrier}. */
export interface WebSocketCarrierOptions {
  /** `bufferedAmount` above which the carrier reports congestion. Default 1 MiB. */
  highWaterMark?: number;
  /** For messages. Default `"ws"`. */
  description?: string;
}

/**
 * Carries frames over a `ws` WebSocket: one binary message per frame, no
 * compression, congestion from `bufferedAmount`. Create the WebSocket with
 * `maxPayload: frameLimit(maxFrame)` and `perMessageDeflate: false`.
 */
export function createWebSocketCarrier(ws: WebSocket, options: WebSocketCarrierOptions = {}): FrameCarrier {
  const high = options.highWaterMark ?? 1024 * 1024;
  const description = options.description ?? 'ws';
  let handlers: CarrierHandlers | undefined;
  let congested = false;
  let done = false;
  ws.binaryType = 'nodebuffer';

  const afterSend = (err?: Error): void => {
    if (err || !congested) return;
    if (ws.bufferedAmount < high / 2) {
      congested = false;
      handlers?.drain();
    }
  };
  // A session may start before the handshake finished: hold its first frames until 'open'.
  let early: Buffer[] | undefined;
  if (ws.readyState === ws.CONNECTING) {
    early = [];
    ws.once('open', () => {
      const frames = early ?? [];
      early = undefined;
      for (const f of frames) send(f);
    });
  }
  // `pooled` goes back to the pool once ws wrote it (or masked it into a copy of its own);
  // a pooled frame that never reaches ws.send is simply left to the garbage collector.
  const send = (data: Buffer, pooled = false): boolean => {
    if (early !== undefined) {
      early.push(data);
      return early.length < 64;
    }
    if (done || ws.readyState !== ws.OPEN) return false;
    ws.send(
      data,
      BINARY,
      pooled
        ? (err) => {
            // After an error ws may still hold it: let the garbage collector have it.
            if (!err) pool.release(data);
            afterSend(err);
          }
        : afterSend,
    );
    if (ws.bufferedAmount >= high) congested = true;
    return !congested;
  };
  return {
    description,
    start(h, frameLimit) {
      handlers = h;
      let faulted = false;
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (faulted) return;
        if (!isBinary) {
          faulted = true;
          h.fault(new SpokeError('ERR_PROTOCOL', `The peer sent a text message on ${description}; spoke/1 uses binary messages only.`));
          return;
        }
        if (data.length > frameLimit) {
          faulted = true;
          h.fault(
            new SpokeError(
              'ERR_FRAME_TOO_LARGE',
              `The peer sent a ${data.length}-byte message on ${description}; the limit is ${frameLimit}.`,
            ),
          );
          return;
        }
        h.frame(data);
      });
      ws.on('error', (err) => {
        if (done) return;
        done = true;
        h.closed(SpokeError.from(err, { hop: description }));
      });
      ws.on('close', (code: number, reason: Buffer) => {
        if (done) return;
        done = true;
        if (code === 1000 || code === 1001 || code === 1005) h.closed();
        else if (code === 1009)
          h.closed(new SpokeError('ERR_FRAME_TOO_LARGE', `${description} closed: a message exceeded the size limit (1009).`));
        else
          h.closed(
            new SpokeError(
              'ERR_TUNNEL_CLOSED',
              `${description} closed abnormally (code ${code}${reason.length ? `: ${reason.toString()}` : ''}).`,
            ),
          );
      });
    },
    send,
    sendData(header, payload) {
      // One message per frame: header and payload must share a buffer.
      const frame = pool.take(header.length + payload.length);
      header.copy(frame, 0);
      payload.copy(frame, header.length);
      return send(frame, true);
    },
    pause() {
      // A peer the session is ending for flooding it: stop parsing its frames (ws pauses the socket).
      ws.pause();
    },
    close() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
    },
    destroy() {
      ws.terminate();
    },
  };
}

/** A session over a `ws` WebSocket (create it with `perMessageDeflate: false` and `maxPayload: frameLimit(maxFrame)`). */
export function sessionOverWebSocket(ws: WebSocket, options: SessionOptions, description = 'ws'): Session {
  return createSession(createWebSocketCarrier(ws, { description }), options);
}
