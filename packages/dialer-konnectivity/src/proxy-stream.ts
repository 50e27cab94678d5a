import { Duplex } from 'node:stream';
import type { PacketClientCall } from './packet-call.js';
import { chunks, closeRequest, dataPacket, PacketType, type Packet } from './packets.js';
import { tunnelLost } from './errors.js';

/** Settings of one established gRPC-mode connection. */
export interface ProxyStreamInit {
  call: PacketClientCall;
  connectID: bigint;
  /** `host:port` being reached, for messages. */
  target: string;
  /** The server, for messages. */
  where: string;
  /** How long to wait for CLOSE_RSP after CLOSE_REQ (upstream: 10 s). */
  closeTimeoutMs: number;
  /** How long after `end()` to wait for the destination to close before we close (see README). */
  endGraceMs: number;
}

/**
 * One established Konnectivity connection (gRPC mode) as a socket-like Duplex.
 *
 * Backpressure: reading pauses the gRPC stream whenever our readable buffer is
 * full, so HTTP/2 flow control holds the server (and, through it, the agent)
 * back; writes complete when gRPC has taken each DATA packet.
 *
 * Konnectivity has no half-close. `end()` therefore does not reach the
 * destination: the connection stays open for reading until the destination
 * closes or `endGraceMs` passes without data from it, and then CLOSE_REQ
 * closes it both ways.
 * A CLOSE_RSP from the far side is a clean end-of-stream in both directions.
 */
export class ProxyStream extends Duplex {
  readonly #init: ProxyStreamInit;
  #remoteClosed = false;
  #eof = false;
  #closing = false;
  #graceTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;

  constructor(init: ProxyStreamInit) {
    // No half-close exists on the wire: when the far side closes, we are done writing too.
    super({ allowHalfOpen: false });
    this.#init = init;
    const { call } = init;
    call.on('data', (p: Packet) => this.#onPacket(p));
    call.on('error', (err: Error) => this.#onCallEnd(err));
    call.on('end', () => this.#onCallEnd());
  }

  /** The agent-assigned connection id (for logs). */
  get connectID(): bigint {
    return this.#init.connectID;
  }

  #onPacket(p: Packet): void {
    switch (p.type) {
      case PacketType.DATA: {
        const bytes = p.data?.data;
        if (this.#eof || !bytes || bytes.length === 0) return;
        // The grace after end() counts from the last byte the destination sent:
        // a long answer is not cut off while it is still arriving.
        this.#graceTimer?.refresh();
        if (!this.push(bytes)) this.#init.call.pause();
        return;
      }
      case PacketType.CLOSE_RSP:
        this.#remoteClosed = true;
        this.#clearTimers();
        this.#end();
        this.#init.call.finish(this.#init.closeTimeoutMs);
        return;
      default:
        // Unknown or irrelevant packet types are ignored, as upstream does.
        return;
    }
  }

  #onCallEnd(err?: Error): void {
    if (this.#remoteClosed || this.destroyed) return;
    // The gRPC stream ended without CLOSE_RSP: the server or agent went away.
    this.destroy(tunnelLost(this.#init.where, this.#init.target, err));
  }

  override _read(): void {
    this.#init.call.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#remoteClosed || this.#closing) {
      callback();
      return;
    }
    const parts = chunks(chunk);
    const last = parts.length - 1;
    parts.forEach((part, i) => {
      const packet = dataPacket(this.#init.connectID, part);
      if (i === last) this.#init.call.write(packet, callback);
      else this.#init.call.write(packet);
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback();
    if (this.#remoteClosed || this.#closing) return;
    this.#graceTimer = setTimeout(() => this.#sendClose(), this.#init.endGraceMs);
    this.#graceTimer.unref();
  }

  /** Graceful close: CLOSE_REQ, then wait for CLOSE_RSP up to closeTimeoutMs. */
  #sendClose(): void {
    if (this.#closing || this.#remoteClosed) return;
    this.#closing = true;
    this.#init.call.write(closeRequest(this.#init.connectID));
    this.#closeTimer = setTimeout(() => {
      this.#remoteClosed = true;
      this.#end();
      this.#init.call.finish(0);
    }, this.#init.closeTimeoutMs);
    this.#closeTimer.unref();
  }

  #end(): void {
    if (this.#eof) return;
    this.#eof = true;
    this.push(null);
  }

  #clearTimers(): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#clearTimers();
    const { call } = this.#init;
    if (!this.#remoteClosed) {
      // Tell the agent to close the destination; don't wait for the answer.
      if (!this.#closing && !call.writableEnded && !call.done) call.write(closeRequest(this.#init.connectID));
      this.#remoteClosed = true;
    }
    call.finish(this.#init.closeTimeoutMs);
    callback(err);
  }
}
