import type { Backend, BackendManager } from './backends.js';
import type { ServerMetrics } from './metrics.js';
import { chunks, closeDial, closeRequest, dataPacket, dialRequest, PacketType, type Packet } from '../packets.js';

/** Why a pending dial failed before the agent answered. */
export type PendingFailure = 'no_agent' | 'backend_close' | 'backend_dial_timeout' | 'dial_closed';

/** One front-end connection (a gRPC Proxy stream or an HTTP CONNECT socket). */
export interface Frontend {
  /** The agent answered the dial (error text empty on success). */
  dialed(connectID: bigint, error: string): void;
  /** Bytes from the destination. */
  data(bytes: Buffer): void;
  /** The destination (or its agent) is gone; `error` set when the agent went away. */
  remoteClosed(error?: string): void;
  /** The dial failed before any answer. */
  failed(reason: PendingFailure, text: string): void;
  /** Bytes queued towards this front end (for backpressure and stall detection). */
  queued(): number;
  /** Calls `callback` once, as soon as `queued()` is at most `bytes`. */
  whenQueueBelow(bytes: number, callback: () => void): void;
  /** Closes the front end because it stopped reading. */
  stalled(): void;
  /** Pauses/resumes reading from the front end (backend stream backpressure). */
  pause(): void;
  resume(): void;
}

/**
 * Where front ends hand their dials: the server's {@link TunnelCore} (agents
 * behind it) or a {@link DialerRouter} (any `Dialer` behind it). The front-end
 * code (grpc-frontend.ts, http-frontend.ts) is written once against this seam.
 */
export interface DialRouter {
  /** Starts a dial for `fe`; `random` is the frontend's dial ID (gRPC) or ours (HTTP); `original` the client's DIAL_REQ. */
  dial(fe: Frontend, address: string, random: bigint, original?: Packet): void;
  /** Front-end bytes towards the destination. */
  data(fe: Frontend, bytes: Buffer): void;
  /** The front end is done sending (CLOSE_REQ, EOF, cancel); the far side's close answers it. */
  close(fe: Frontend): void;
  /** The front end is gone for good (socket closed, stream ended). */
  detach(fe: Frontend): void;
}

interface Link {
  fe: Frontend;
  backend: Backend;
  random: bigint;
  connectID: bigint;
  timer: NodeJS.Timeout | undefined;
  stalledSince: number | undefined;
  /** This link's front end is over its queue limit and holds its agent stream paused. */
  holding: boolean;
  /** CLOSE_REQ went to the agent; the link lives on until CLOSE_RSP. */
  closing: boolean;
}

/** Settings of the routing core. */
export interface TunnelCoreInit {
  backends: BackendManager;
  metrics: ServerMetrics;
  /** `--backend-dial-timeout`; 0 = none. */
  backendDialTimeoutMs: number;
  /** Queue size towards one front end above which it counts as stalled. */
  maxFrontendQueue: number;
  /** How long a front end may stay stalled before it is closed alone. */
  frontendStallTimeoutMs: number;
  log: (msg: string) => void;
}

/**
 * The routing tables of a proxy-server: pending dials keyed by dial ID,
 * established connections keyed by (agent stream, connectID). Every pending
 * dial fails as soon as its agent stream goes away (upstream TODO #126), a
 * late DIAL_RSP for a forgotten dial is closed at the agent (no leak, #404),
 * and a front end that stops reading is closed alone (#180/#881).
 *
 * Memory is bounded: the protocol has no per-connection flow control, so a
 * front end whose queue passes `maxFrontendQueue` pauses reading from its
 * agent stream (HTTP/2 flow control then holds the agent, which stops reading
 * the destination) until the queue is down to half. Other connections of that
 * agent wait meanwhile, as they always do upstream; unlike upstream, a front
 * end that stays over the limit for `frontendStallTimeoutMs` is closed, which
 * releases them.
 */
export class TunnelCore implements DialRouter {
  readonly #init: TunnelCoreInit;
  readonly #pending = new Map<bigint, Link>();
  readonly #established = new Map<Backend, Map<bigint, Link>>();
  readonly #byFrontend = new Map<Frontend, Link>();
  /** Links holding each agent stream paused; the stream resumes when its set empties. */
  readonly #holds = new Map<Backend, Set<Link>>();
  readonly #stallTimer: NodeJS.Timeout;

  constructor(init: TunnelCoreInit) {
    this.#init = init;
    this.#stallTimer = setInterval(() => this.#checkStalls(), Math.max(50, Math.min(1000, init.frontendStallTimeoutMs / 4)));
    this.#stallTimer.unref();
  }

  /** Starts a dial for `fe`; `random` is the frontend's dial ID (gRPC) or ours (HTTP). */
  dial(fe: Frontend, address: string, random: bigint, original?: Packet): void {
    const backend = this.#init.backends.pick(address);
    if (!backend) {
      this.#init.metrics.dialFailure('no_agent');
      fe.failed('no_agent', 'No agent available');
      return;
    }
    const link: Link = { fe, backend, random, connectID: 0n, timer: undefined, stalledSince: undefined, holding: false, closing: false };
    this.#pending.set(random, link);
    this.#byFrontend.set(fe, link);
    this.#init.metrics.pendingDials = this.#pending.size;
    if (this.#init.backendDialTimeoutMs > 0) {
      link.timer = setTimeout(() => {
        if (this.#pending.get(random) !== link) return;
        this.#forgetPending(link);
        this.#init.metrics.dialFailure('backend_dial_timeout');
        fe.failed('backend_dial_timeout', 'timed out waiting for backend dial');
      }, this.#init.backendDialTimeoutMs);
      link.timer.unref();
    }
    // gRPC front ends' DIAL_REQ goes to the agent unchanged, as upstream does.
    this.#send(backend, original ?? dialRequest(address, random));
  }

  /** Front-end bytes towards the destination. */
  data(fe: Frontend, bytes: Buffer): void {
    const link = this.#byFrontend.get(fe);
    if (!link || link.connectID === 0n) return;
    let ok = true;
    for (const part of chunks(bytes)) ok = this.#send(link.backend, dataPacket(link.connectID, part)) && ok;
    if (!ok) {
      fe.pause();
      link.backend.call.once('drain', () => fe.resume());
    }
  }

  /** The front end is done (CLOSE_REQ, EOF, cancel): close at the agent or forget the pending dial. */
  close(fe: Frontend): void {
    const link = this.#byFrontend.get(fe);
    if (!link) return;
    if (link.connectID === 0n) {
      this.#forgetPending(link);
      this.#init.metrics.dialFailure('frontend_close');
      // Upstream's server keeps this to itself and the agent's dial runs on
      // (holding a socket) until its own timeout; ours cancels it at once, and
      // upstream's agent ignores the packet.
      this.#send(link.backend, closeDial(link.random));
      return;
    }
    // A front end that sent CLOSE_REQ and then ends its stream comes here twice: the agent
    // needs one (a second one costs it a lookup and an "Unknown connectID" reply).
    if (link.closing) return;
    link.closing = true;
    this.#send(link.backend, closeRequest(link.connectID));
  }

  /** The front end is gone for good (socket closed, stream ended). */
  detach(fe: Frontend): void {
    const link = this.#byFrontend.get(fe);
    if (!link) return;
    this.close(fe);
    this.#forgetEstablished(link);
  }

  /** A packet from an agent stream. */
  fromAgent(backend: Backend, p: Packet): void {
    switch (p.type) {
      case PacketType.DIAL_RSP: {
        const rsp = p.dialResponse;
        if (!rsp) return;
        const link = this.#pending.get(rsp.random);
        if (!link || link.backend !== backend) {
          // Nobody waits for this dial any more: close it at the agent so nothing leaks.
          this.#init.metrics.dialFailure('unrecognized_response');
          if (rsp.error === '' && rsp.connectID !== 0n) this.#send(backend, closeRequest(rsp.connectID));
          return;
        }
        this.#forgetPending(link, false);
        if (rsp.error !== '') {
          this.#byFrontend.delete(link.fe);
          this.#init.metrics.dialFailure('error_response');
          link.fe.dialed(0n, rsp.error);
          return;
        }
        link.connectID = rsp.connectID;
        let table = this.#established.get(backend);
        if (!table) this.#established.set(backend, (table = new Map<bigint, Link>()));
        table.set(rsp.connectID, link);
        this.#init.metrics.established++;
        link.fe.dialed(rsp.connectID, '');
        return;
      }
      case PacketType.DATA: {
        const link = p.data ? this.#established.get(backend)?.get(p.data.connectID) : undefined;
        if (link && p.data) {
          link.fe.data(p.data.data);
          if (link.fe.queued() > this.#init.maxFrontendQueue) {
            link.stalledSince ??= Date.now();
            this.#hold(link);
          }
        }
        return;
      }
      case PacketType.CLOSE_RSP: {
        const link = p.closeResponse ? this.#established.get(backend)?.get(p.closeResponse.connectID) : undefined;
        if (link) {
          this.#forgetEstablished(link);
          link.fe.remoteClosed();
        }
        return;
      }
      case PacketType.DIAL_CLS: {
        const link = p.closeDial ? this.#pending.get(p.closeDial.random) : undefined;
        if (link && link.backend === backend) {
          this.#forgetPending(link);
          link.fe.failed('dial_closed', 'dial closed by the agent');
        }
        return;
      }
      case PacketType.DRAIN:
        backend.draining = true;
        return;
      default:
        return;
    }
  }

  /** An agent stream ended: fail its pending dials now and close its connections. */
  backendGone(backend: Backend): void {
    for (const link of [...this.#pending.values()]) {
      if (link.backend !== backend) continue;
      this.#forgetPending(link);
      this.#init.metrics.dialFailure('backend_close');
      link.fe.failed('backend_close', 'agent disconnected');
    }
    const table = this.#established.get(backend);
    if (table) {
      for (const link of [...table.values()]) {
        this.#forgetEstablished(link);
        link.fe.remoteClosed('agent disconnected');
      }
    }
    this.#established.delete(backend);
    this.#holds.delete(backend);
  }

  /** Stops the stall checker. */
  dispose(): void {
    clearInterval(this.#stallTimer);
  }

  #send(backend: Backend, p: Packet): boolean {
    try {
      return backend.call.write(p);
    } catch {
      return true;
    }
  }

  #forgetPending(link: Link, dropFrontend = true): void {
    if (link.timer) clearTimeout(link.timer);
    if (this.#pending.get(link.random) === link) this.#pending.delete(link.random);
    if (dropFrontend && this.#byFrontend.get(link.fe) === link) this.#byFrontend.delete(link.fe);
    this.#init.metrics.pendingDials = this.#pending.size;
  }

  /** Pauses `link`'s agent stream until its front end's queue is down to half the limit. */
  #hold(link: Link): void {
    if (link.holding) return;
    link.holding = true;
    let holders = this.#holds.get(link.backend);
    if (!holders) {
      this.#holds.set(link.backend, (holders = new Set()));
      link.backend.call.pause();
    }
    holders.add(link);
    link.fe.whenQueueBelow(this.#init.maxFrontendQueue / 2, () => this.#release(link));
  }

  #release(link: Link): void {
    if (!link.holding) return;
    link.holding = false;
    const holders = this.#holds.get(link.backend);
    if (!holders?.delete(link) || holders.size > 0) return;
    this.#holds.delete(link.backend);
    link.backend.call.resume();
  }

  #forgetEstablished(link: Link): void {
    this.#release(link);
    const table = this.#established.get(link.backend);
    if (table?.get(link.connectID) === link) {
      table.delete(link.connectID);
      this.#init.metrics.established--;
    }
    if (this.#byFrontend.get(link.fe) === link) this.#byFrontend.delete(link.fe);
  }

  #checkStalls(): void {
    const now = Date.now();
    for (const table of this.#established.values()) {
      for (const link of [...table.values()]) {
        if (link.fe.queued() <= this.#init.maxFrontendQueue) link.stalledSince = undefined;
        else if (link.stalledSince !== undefined && now - link.stalledSince > this.#init.frontendStallTimeoutMs) {
          this.#init.log(`closing connection ${link.connectID}: its front end stopped reading`);
          this.#init.metrics.stalledFrontendClose();
          this.#send(link.backend, closeRequest(link.connectID));
          this.#forgetEstablished(link);
          link.fe.stalled();
        }
      }
    }
  }
}
