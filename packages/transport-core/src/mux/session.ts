import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { SpokeError, abortReasonAsError, asError } from '../errors.js';
import type { DialOptions, Tunnel, TunnelState } from '../dialer.js';
import { onAbort } from '../abort.js';
import { raceSignal, runDial } from '../dial-scope.js';
import { formatTarget, parseTarget, type Target } from '../target.js';
import type { FrameCarrier } from './carrier.js';
import { createStreamCarrier } from './stream-carrier.js';
import { frameLimit, type HelloFrame } from './frame.js';
import { wireCode, type SessionStream, type StreamHost } from './session-stream.js';
import { resolveSessionOptions, type PeerHello, type ResolvedSessionOptions, type SessionOptions } from './session-options.js';
import { acceptHello, helloFrame } from './handshake.js';
import { SendScheduler } from './scheduler.js';
import { ReceiveWindow } from './receive-window.js';
import { StreamTable } from './stream-table.js';
import { Liveness } from './liveness.js';
import { FrameHandlers } from './frame-handlers.js';
import { ListenRequests, acceptsListen } from './listen-requests.js';

export type { SessionOptions, PeerHello, IncomingDial, IncomingListen } from './session-options.js';

/** Traffic counters of a session. */
export interface SessionStats {
  streams: number;
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
}

/**
 * A spoke/1 session (PROTOCOL.md) over a {@link FrameCarrier}: many
 * socket-like streams over one connection, opened by either side, with
 * per-stream and per-session credit. It is a {@link Tunnel}: `dial()` asks the
 * peer to connect a target.
 *
 * Events: `open` (PeerHello), `close` (SpokeError | undefined), `goaway`
 * (SpokeError), `stream` (SessionStream, IncomingDial) when there is no `onDial`.
 */
export class Session extends EventEmitter implements Tunnel {
  readonly kind = 'spoke';
  readonly #carrier: FrameCarrier;
  readonly #o: ResolvedSessionOptions;
  // The parts, each with its own state: frames out, credit in, streams by id, keepalive, frames in.
  readonly #out: SendScheduler;
  readonly #inflow: ReceiveWindow;
  readonly #streams: StreamTable;
  readonly #liveness: Liveness;
  readonly #frames: FrameHandlers;
  readonly #listens: ListenRequests;
  // Lifecycle.
  #state: TunnelState = 'connecting';
  #peer: PeerHello | undefined;
  #peerGoAway = false;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #closeError: SpokeError | undefined;
  #carrierClosing = false;
  readonly #ready: Promise<PeerHello>;
  #readyResolve!: (p: PeerHello) => void;
  #readyReject!: (e: Error) => void;
  #closed: Promise<void>;
  #closedResolve!: () => void;

  constructor(carrier: FrameCarrier, options: SessionOptions) {
    super();
    const o = (this.#o = resolveSessionOptions(options));
    this.#carrier = carrier;
    this.#out = new SendScheduler(carrier, o, () => this.#overflowed());
    this.#inflow = new ReceiveWindow(o, (increment) => this.#out.send({ type: 'WINDOW', stream: 0, increment }));
    this.#streams = new StreamTable(o.role, this.#streamHost());
    this.#liveness = new Liveness({
      keepaliveMs: o.keepaliveMs,
      idleTimeoutMs: o.idleTimeoutMs,
      description: carrier.description,
      send: (frame) => this.#out.send(frame),
      stalledSince: () => this.#out.stalledSince,
      dead: (err) => this.destroy(err),
    });
    this.#listens = new ListenRequests({
      session: this,
      options: o,
      send: (frame) => this.#out.send(frame),
      fail: (err) => this.#fail(err),
    });
    this.#frames = new FrameHandlers({
      session: this,
      options: o,
      streams: this.#streams,
      out: this.#out,
      inflow: this.#inflow,
      liveness: this.#liveness,
      listens: this.#listens,
      fail: (err) => this.#fail(err),
      hello: (frame) => this.#onHello(frame),
      goAway: (code, message) => this.#onGoAway(code, message),
    });
    this.#ready = new Promise((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.#ready.catch(() => {});
    this.#closed = new Promise((r) => (this.#closedResolve = r));
    carrier.start(
      {
        frame: (buf) => this.#frames.handle(buf),
        drain: () => this.#out.drained(),
        fault: (err) => this.#fail(SpokeError.from(err, { hop: carrier.description })),
        closed: (err) => this.#onCarrierClosed(err),
      },
      frameLimit(o.maxFrame),
    );
    // The initiator speaks first; the responder answers only once it accepted the initiator (PROTOCOL.md §3).
    if (o.role === 'initiator') this.#out.send(helloFrame(o));
    this.#handshakeTimer = setTimeout(
      () =>
        this.#fail(
          new SpokeError(
            'ERR_HANDSHAKE_TIMEOUT',
            `No HELLO from the peer on ${carrier.description} within ${o.handshakeTimeoutMs} ms. Check that the peer speaks spoke/1.`,
          ),
        ),
      o.handshakeTimeoutMs,
    );
    this.#handshakeTimer.unref();
  }

  // What each stream reaches of its session.
  #streamHost(): StreamHost {
    return {
      frameSize: () => this.#out.frameSize(this.#peer?.maxFrame),
      localWindow: this.#o.initialWindow,
      window: (buffered) => this.#inflow.window(buffered),
      schedule: (s) => this.#out.schedule(s),
      sendData: (s, chunk) => this.#out.sendData(s, chunk),
      sendWindow: (stream, increment) => this.#out.send({ type: 'WINDOW', stream, increment }),
      sendFin: (stream) => this.#out.send({ type: 'FIN', stream }),
      sendReset: (stream, code, message) => {
        this.#streams.takeOutbound(stream);
        this.#out.send({ type: 'RESET', stream, code, message });
      },
      consumed: (bytes) => this.#inflow.consumed(bytes),
      release: (s) => this.#release(s),
    };
  }

  /** `connecting` until both HELLOs crossed, then `open`, `draining` after GOAWAY, `closed`. */
  get state(): TunnelState {
    return this.#state;
  }

  /** The peer's HELLO, once open. */
  get peer(): PeerHello | undefined {
    return this.#peer;
  }

  /** Live counters. */
  get stats(): SessionStats {
    return {
      streams: this.#streams.size,
      bytesIn: this.#frames.bytesIn,
      bytesOut: this.#out.bytesOut,
      framesIn: this.#frames.framesIn,
      framesOut: this.#out.framesOut,
    };
  }

  /** Why the session closed (undefined while open or after a clean close). */
  get closeError(): SpokeError | undefined {
    return this.#closeError;
  }

  /** Resolves with the peer's HELLO once the handshake is done; rejects if the session dies first. */
  ready(options: { signal?: AbortSignal } = {}): Promise<PeerHello> {
    if (!options.signal) return this.#ready;
    return raceSignal(this.#ready, options.signal, abortReasonAsError);
  }

  /** Resolves when the session has closed (cleanly or not). */
  closed(): Promise<void> {
    return this.#closed;
  }

  // ---- Dialer / Tunnel ---------------------------------------------------

  /** Asks the peer to connect `target`; resolves with the stream once the peer says DIAL_OK. */
  dial(input: Target | string, options?: DialOptions): Promise<Duplex> {
    let target: Target;
    try {
      target = parseTarget(input);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    const text = formatTarget(target);
    const info = { target, hop: `spoke ${this.#carrier.description}` };
    return runDial(options, info, async (signal) => {
      await this.ready({ signal });
      if (this.#state !== 'open' || this.#peerGoAway) throw this.#unavailable(text);
      if (this.#streams.size >= this.#o.maxStreams) {
        throw new SpokeError(
          'ERR_TOO_MANY_STREAMS',
          `This session already carries ${this.#o.maxStreams} streams. Close some, or raise maxStreams.`,
          info,
        );
      }
      const id = this.#streams.takeId();
      if (id === undefined) throw new SpokeError('ERR_TOO_MANY_STREAMS', 'This session used up its stream ids; open a new session.', info);
      const stream = this.#streams.open(id, text, this.#peer?.initialWindow ?? 0);
      return new Promise<Duplex>((resolve, reject) => {
        let detach = (): void => {};
        this.#streams.awaitAnswer(id, {
          resolve: (s) => {
            detach();
            // A RESET right behind DIAL_OK would emit 'error' (next tick) before the caller's
            // continuation (a microtask later) can listen. Cover that gap; the caller still
            // sees the stream destroyed and errored.
            const gap = (): void => {};
            s.on('error', gap);
            setImmediate(() => s.off('error', gap));
            resolve(s);
          },
          reject: (e) => {
            detach();
            reject(e);
            stream.destroy();
          },
        });
        this.#out.send({ type: 'DIAL', stream: id, target: text });
        // Registered once the answer is awaited: an abort takes the pending dial back and resets it.
        detach = onAbort(signal, (reason) => {
          if (this.#streams.takeOutbound(id) === undefined) return;
          this.#out.send({ type: 'RESET', stream: id, code: 'ERR_STREAM_RESET', message: 'dial cancelled' });
          stream.destroy();
          reject(abortReasonAsError(reason));
        });
      });
    });
  }

  /**
   * Asks the peer to open a listener on `bind` (`host:port`; PROTOCOL.md §4a) and resolves to the
   * address it is bound to. What the listener accepts arrives as the peer's dials on this session
   * (`onDial`), targeting that bound address; it closes with the session. Refused with
   * `ERR_VERSION_MISMATCH` when the peer did not announce the `"listen"` feature (older peers).
   */
  async listen(bind: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const peer = await this.ready(options);
    if (this.#state !== 'open' || this.#peerGoAway) throw this.#unavailable(`a listener on ${bind}`);
    if (!acceptsListen(peer.features)) {
      throw new SpokeError(
        'ERR_VERSION_MISMATCH',
        `The peer ${peer.id === '' ? '' : `"${peer.id}" `}does not open listeners for this side (its HELLO announces no "listen" feature): upgrade it.`,
        { hop: this.#carrier.description },
      );
    }
    return this.#listens.request(bind, options.signal);
  }

  /** Round trip to the peer in milliseconds. */
  ping(options: { signal?: AbortSignal } = {}): Promise<number> {
    if (this.#state === 'closed') return Promise.reject(this.#unavailable('ping'));
    return this.#liveness.ping(options.signal);
  }

  /**
   * Graceful close: GOAWAY, no new streams, existing ones finish (up to the
   * drain timeout, after which they are reset), then the carrier closes.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return this.#closed;
    if (this.#state !== 'draining') {
      this.#state = 'draining';
      this.#out.send({ type: 'GOAWAY', code: 'ERR_TUNNEL_CLOSED', message: 'closing', lastStream: this.#streams.lastPeerId });
      for (const pending of this.#streams.takeAllOutbound()) pending.reject(this.#unavailable('the pending dial'));
      this.#drainTimer = setTimeout(
        () =>
          this.destroy(
            new SpokeError(
              'ERR_TUNNEL_CLOSED',
              `The session did not drain within ${this.#o.drainTimeoutMs} ms; remaining streams were reset.`,
            ),
          ),
        this.#o.drainTimeoutMs,
      );
      this.#drainTimer.unref();
      this.#maybeFinishDrain();
    }
    return this.#closed;
  }

  /** Immediate teardown: every stream fails with `err` (or `ERR_TUNNEL_CLOSED`). */
  destroy(err?: Error): void {
    if (this.#state === 'closed') return;
    this.#carrier.destroy();
    this.#finalize(
      err
        ? SpokeError.from(err, { hop: this.#carrier.description })
        : new SpokeError('ERR_TUNNEL_CLOSED', `The session on ${this.#carrier.description} was destroyed.`),
    );
  }

  // ---- handshake and GOAWAY (the frame handlers hand these over) ------------

  #onHello(hello: HelloFrame): void {
    let peer: PeerHello;
    try {
      peer = acceptHello(hello, this.#o);
    } catch (err) {
      this.#fail(err as SpokeError);
      return;
    }
    this.#peer = peer;
    if (this.#o.role === 'responder') this.#out.send(helloFrame(this.#o));
    this.#out.open(peer.sessionWindow);
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    if (this.#state === 'connecting') this.#state = 'open';
    this.#liveness.start();
    this.#readyResolve(peer);
    this.emit('open', peer);
  }

  #onGoAway(code: string, message: string): void {
    this.#peerGoAway = true;
    const fatal = code !== 'ERR_TUNNEL_CLOSED';
    const err = new SpokeError(
      wireCode(code, 'ERR_PROTOCOL'),
      `The peer ${fatal ? 'ended the session' : 'is closing the session'}: ${message}`,
      { hop: this.#carrier.description },
    );
    if (fatal) this.#closeError = err;
    this.emit('goaway', err);
    if (this.#peer === undefined) {
      // Refused during the handshake (auth, version): nothing else will come.
      this.#readyReject(err);
    }
    if (this.#state === 'open' || this.#state === 'connecting') this.#state = 'draining';
    this.#maybeFinishDrain();
  }

  // ---- shutdown ------------------------------------------------------------

  #release(s: SessionStream): void {
    this.#streams.remove(s);
    this.#out.forget(s);
    const pending = this.#streams.takeOutbound(s.id);
    if (pending) pending.reject(new SpokeError('ERR_STREAM_RESET', `The stream to ${s.target} was closed before the peer answered.`));
    this.#maybeFinishDrain();
  }

  #maybeFinishDrain(): void {
    if (this.#state !== 'draining' || this.#streams.size > 0 || this.#streams.pendingInbound > 0 || this.#carrierClosing) return;
    this.#closeCarrier();
  }

  // Flush and close; a peer that never closes its side must not keep the connection open.
  #closeCarrier(): void {
    this.#carrierClosing = true;
    this.#carrier.close();
    setTimeout(() => this.#carrier.destroy(), 5_000).unref();
  }

  #fail(err: SpokeError): void {
    if (this.#state === 'closed') return;
    this.#out.send({ type: 'GOAWAY', code: err.code, message: err.message, lastStream: this.#streams.lastPeerId });
    this.#closeCarrier();
    this.#finalize(err);
  }

  // The peer keeps asking for answers (PING, bad DIALs...) and reads none of them: stop
  // reading so it cannot make us queue more, and end it as HTTP/2 does with ENHANCE_YOUR_CALM.
  #overflowed(): void {
    this.#carrier.pause?.();
    this.#fail(
      new SpokeError(
        'ERR_FLOW_CONTROL',
        `The peer on ${this.#carrier.description} kept sending while it read none of our frames; more than ${this.#o.maxControlBacklog} bytes of replies were queued for it (maxControlBacklog).`,
      ),
    );
  }

  #onCarrierClosed(err?: Error): void {
    if (this.#state === 'closed') return;
    this.#carrier.destroy();
    const clean = err === undefined && this.#state === 'draining' && this.#streams.size === 0;
    if (clean && this.#closeError === undefined) {
      this.#finalize(undefined);
      return;
    }
    this.#finalize(
      this.#closeError ??
        (err
          ? SpokeError.from(err, { hop: this.#carrier.description })
          : new SpokeError(
              'ERR_TUNNEL_CLOSED',
              `The connection ${this.#carrier.description} closed. Dial again (it reconnects if supervised).`,
            )),
    );
  }

  #finalize(err: SpokeError | undefined): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#out.stop();
    if (err) this.#closeError ??= err;
    for (const t of [this.#handshakeTimer, this.#drainTimer]) if (t) clearTimeout(t);
    const cause = this.#closeError;
    const streamErr = (target: string): SpokeError =>
      new SpokeError('ERR_TUNNEL_CLOSED', `The tunnel carrying this stream closed${cause ? `: ${cause.message}` : '.'}`, {
        ...(cause ? { cause } : {}),
        target,
        hop: 'spoke',
      });
    for (const pending of this.#streams.takeAllOutbound()) pending.reject(streamErr('a pending dial'));
    this.#streams.abortAllInbound(() => streamErr('a pending dial'));
    this.#listens.close(streamErr('a pending listen'));
    // Streams nobody holds yet (pending dials) go quietly; their dial promises carry the error.
    this.#streams.clear((s) => s.destroy(s.opened ? streamErr(s.target) : undefined));
    this.#liveness.stop(() => streamErr('ping'));
    this.#readyReject(cause ?? streamErr('the handshake'));
    this.emit('close', cause);
    this.#closedResolve();
  }

  #unavailable(what: string): SpokeError {
    return new SpokeError(
      'ERR_TUNNEL_CLOSED',
      `The session is ${this.#state}${this.#closeError ? ` (${this.#closeError.message})` : ''}; cannot open ${what}. Dial through another tunnel or reconnect.`,
      {
        hop: 'spoke',
      },
    );
  }
}

/** Creates a session over a carrier. */
export function createSession(carrier: FrameCarrier, options: SessionOptions): Session {
  return new Session(carrier, options);
}

/** A session over any byte stream (TCP, TLS, an SSH channel, stdio, another dialer's stream). */
export function sessionOverStream(stream: Duplex, options: SessionOptions, description = 'stream'): Session {
  return new Session(createStreamCarrier(stream, description), options);
}
