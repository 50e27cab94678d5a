import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { SpokeError, isAbortError, type SpokeErrorCode } from '../errors.js';
import type { DialOptions, Tunnel, TunnelState } from '../dialer.js';
import { runDial } from '../dial-scope.js';
import { splice } from '../splice.js';
import { formatTarget, parseTarget, type Target } from '../target.js';
import type { FrameCarrier } from './carrier.js';
import { createStreamCarrier } from './stream-carrier.js';
import { decodeFrame, encodeDataHeader, encodeFrame } from './codec.js';
import { LIMITS, PROTOCOL_VERSIONS, frameLimit, type Frame, type HelloFrame, type SessionRole } from './frame.js';
import { SessionStream, wireCode, type StreamHost } from './session-stream.js';
import { ContentionTracker } from './contention.js';

/** What the peer announced in its HELLO. */
export interface PeerHello {
  id: string;
  identifiers: string;
  role: SessionRole;
  /** The version both sides speak. */
  version: number;
  maxFrame: number;
  initialWindow: number;
  sessionWindow: number;
  auth?: string;
  extensions?: Record<string, unknown>;
}

/** A dial the peer asked this side to perform. */
export interface IncomingDial {
  target: Target;
  /** The target as the peer wrote it. */
  targetText: string;
  protocol?: string;
  /** Stream id. */
  stream: number;
  /** Aborted when the peer cancels the dial or the session dies. */
  signal: AbortSignal;
  session: Session;
}

/** Options of {@link createSession}. */
export interface SessionOptions {
  /** `initiator` opened the carrier (odd stream ids); `responder` accepted it (even ids). */
  role: SessionRole;
  /** Our id, sent in HELLO. Default `""`. */
  id?: string;
  /** Our identifiers, Konnectivity query-string form, sent in HELLO. Default `""`. */
  identifiers?: string;
  /** A credential for HELLO, when the carrier has no authentication of its own. */
  auth?: string;
  /** Extension fields for HELLO (e.g. `{ hubCount: 2 }`). */
  extensions?: Record<string, unknown>;
  /** Checks the peer's HELLO; throw a SpokeError (e.g. `ERR_AUTH_FAILED`) to refuse it. */
  onHello?: (peer: PeerHello) => void;
  /**
   * Decides a dial the peer asked for: return (or resolve to) the stream to
   * connect it to, or throw a SpokeError (`ERR_DIAL_DENIED`...). Without it,
   * peer dials are delivered as `"stream"` events if anyone listens, else denied.
   */
  onDial?: (target: Target, info: IncomingDial) => Promise<Duplex> | Duplex;
  /** Largest DATA payload we accept. Default 65536 (1024 .. 16 MiB). */
  maxFrame?: number;
  /** Credit we grant each stream. Default 262144. */
  initialWindow?: number;
  /**
   * Credit we keep open per stream while several streams receive at once, so that
   * a bulk stream cannot queue much ahead of an interactive one. Default 32768
   * (1024 .. initialWindow; set it to initialWindow to turn this off).
   */
  sharedWindow?: number;
  /**
   * Credit we keep open for a stream that receives alone while its reader keeps up (has read
   * everything it was given). Default 1048576 (initialWindow .. sessionWindow); a reader that
   * falls behind is back to initialWindow, and competing streams to sharedWindow.
   */
  soloWindow?: number;
  /**
   * DATA payload we send for a stream alone. Default 32768 (1024 .. 16 MiB; never
   * above the peer's maxFrame): a frame that fits a 64 KiB socket read is
   * delivered without a copy more often.
   */
  frameSize?: number;
  /** DATA payload we send while several streams send at once. Default 16384 (1024 .. frameSize). */
  sharedFrameSize?: number;
  /** How long streams count as competing after two of them last moved DATA together. Default 50 ms. */
  contentionHoldMs?: number;
  /** Credit we grant the whole session. Default 16777216. */
  sessionWindow?: number;
  /** Concurrent streams. Default 16384. */
  maxStreams?: number;
  /** Inbound dials awaiting `onDial`. Default 1024. */
  maxPendingDials?: number;
  /** Time allowed for the peer's HELLO. Default 10000 ms. */
  handshakeTimeoutMs?: number;
  /** PING interval. Default 15000 ms. */
  keepaliveMs?: number;
  /** A peer silent this long is dead. Default 45000 ms. */
  idleTimeoutMs?: number;
  /** Grace for streams to finish after `close()`/GOAWAY. Default 30000 ms. */
  drainTimeoutMs?: number;
}

type Resolved = Required<Omit<SessionOptions, 'auth' | 'extensions' | 'onHello' | 'onDial'>> &
  Pick<SessionOptions, 'auth' | 'extensions' | 'onHello' | 'onDial'>;

/** Traffic counters of a session. */
export interface SessionStats {
  streams: number;
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
}

function validate(options: SessionOptions): Resolved {
  const r: Resolved = {
    role: options.role,
    id: options.id ?? '',
    identifiers: options.identifiers ?? '',
    auth: options.auth,
    extensions: options.extensions,
    onHello: options.onHello,
    onDial: options.onDial,
    maxFrame: options.maxFrame ?? 64 * 1024,
    initialWindow: options.initialWindow ?? 256 * 1024,
    sharedWindow: options.sharedWindow ?? Math.min(32 * 1024, options.initialWindow ?? 256 * 1024),
    soloWindow:
      options.soloWindow ?? Math.min(options.sessionWindow ?? 16 * 1024 * 1024, Math.max(1024 * 1024, options.initialWindow ?? 256 * 1024)),
    frameSize: options.frameSize ?? 32 * 1024,
    sharedFrameSize: options.sharedFrameSize ?? Math.min(16 * 1024, options.frameSize ?? 32 * 1024),
    contentionHoldMs: options.contentionHoldMs ?? 50,
    sessionWindow: options.sessionWindow ?? 16 * 1024 * 1024,
    maxStreams: options.maxStreams ?? 16_384,
    maxPendingDials: options.maxPendingDials ?? 1024,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    keepaliveMs: options.keepaliveMs ?? 15_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 45_000,
    drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
  };
  const bad = (what: string): never => {
    throw new SpokeError('ERR_BAD_OPTION', `Invalid session option ${what}. See PROTOCOL.md §6 for the allowed ranges.`);
  };
  const int = (v: number, min: number, max: number): boolean => Number.isInteger(v) && v >= min && v <= max;
  if (r.role !== 'initiator' && r.role !== 'responder') bad(`role ${JSON.stringify(r.role)} (initiator or responder)`);
  if (!int(r.maxFrame, LIMITS.minFrame, LIMITS.maxFrame)) bad(`maxFrame ${r.maxFrame}`);
  if (!int(r.initialWindow, r.maxFrame, LIMITS.maxWindow)) bad(`initialWindow ${r.initialWindow} (maxFrame .. 2^31-1)`);
  if (!int(r.sessionWindow, r.initialWindow, LIMITS.maxWindow)) bad(`sessionWindow ${r.sessionWindow} (initialWindow .. 2^31-1)`);
  if (!int(r.sharedWindow, LIMITS.minFrame, r.initialWindow)) bad(`sharedWindow ${r.sharedWindow} (1024 .. initialWindow)`);
  if (!int(r.soloWindow, r.initialWindow, r.sessionWindow)) bad(`soloWindow ${r.soloWindow} (initialWindow .. sessionWindow)`);
  if (!int(r.frameSize, LIMITS.minFrame, LIMITS.maxFrame)) bad(`frameSize ${r.frameSize} (1024 .. 16 MiB)`);
  if (!int(r.sharedFrameSize, LIMITS.minFrame, r.frameSize)) bad(`sharedFrameSize ${r.sharedFrameSize} (1024 .. frameSize)`);
  if (!int(r.maxStreams, 1, 2 ** 30)) bad(`maxStreams ${r.maxStreams}`);
  if (!int(r.maxPendingDials, 1, 2 ** 30)) bad(`maxPendingDials ${r.maxPendingDials}`);
  for (const k of ['handshakeTimeoutMs', 'keepaliveMs', 'idleTimeoutMs', 'drainTimeoutMs', 'contentionHoldMs'] as const) {
    if (!(r[k] > 0 && Number.isFinite(r[k]))) bad(`${k} ${r[k]}`);
  }
  if (r.idleTimeoutMs <= r.keepaliveMs) bad(`idleTimeoutMs ${r.idleTimeoutMs} (must exceed keepaliveMs ${r.keepaliveMs})`);
  if (Buffer.byteLength(r.id) > LIMITS.id) bad(`id (at most ${LIMITS.id} bytes)`);
  if (Buffer.byteLength(r.identifiers) > LIMITS.identifiers) bad(`identifiers (at most ${LIMITS.identifiers} bytes)`);
  return r;
}

interface OutboundDial {
  resolve(stream: SessionStream): void;
  reject(err: Error): void;
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
  readonly #o: Resolved;
  #state: TunnelState = 'connecting';
  #peer: PeerHello | undefined;
  readonly #streams = new Map<number, SessionStream>();
  readonly #outbound = new Map<number, OutboundDial>();
  readonly #inbound = new Map<number, AbortController>();
  #nextId: number;
  #lastPeerId = 0;
  #peerGoAway = false;
  #sendCredit = 0;
  #recvRemaining: number;
  #consumedUngranted = 0;
  #congested = false;
  readonly #queue: SessionStream[] = [];
  readonly #blockedOnSession = new Set<SessionStream>();
  #pumping = false;
  readonly #sending: ContentionTracker;
  readonly #receiving: ContentionTracker;
  readonly #pings = new Map<number, { resolve: (ms: number) => void; reject: (e: Error) => void; t0: number }>();
  #nonce = 0;
  #lastReceived = Date.now();
  #lastPing = Date.now();
  #handshakeTimer: NodeJS.Timeout | undefined;
  #tick: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #closeError: SpokeError | undefined;
  #carrierClosing = false;
  readonly #ready: Promise<PeerHello>;
  #readyResolve!: (p: PeerHello) => void;
  #readyReject!: (e: Error) => void;
  #closed: Promise<void>;
  #closedResolve!: () => void;
  readonly #stats: SessionStats = { streams: 0, bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0 };

  readonly #host: StreamHost;

  constructor(carrier: FrameCarrier, options: SessionOptions) {
    super();
    this.#o = validate(options);
    this.#carrier = carrier;
    this.#nextId = this.#o.role === 'initiator' ? 1 : 2;
    this.#recvRemaining = this.#o.sessionWindow;
    this.#sending = new ContentionTracker(this.#o.contentionHoldMs);
    this.#receiving = new ContentionTracker(this.#o.contentionHoldMs);
    this.#ready = new Promise((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.#ready.catch(() => {});
    this.#closed = new Promise((r) => (this.#closedResolve = r));
    this.#host = {
      frameSize: () => this.#frameSize(),
      localWindow: this.#o.initialWindow,
      // Alone, a stream whose reader has taken everything may keep soloWindow open (fewer WINDOW
      // frames, no credit stalls); a reader that falls behind gets initialWindow back.
      window: (buffered) =>
        this.#receiving.contended ? this.#o.sharedWindow : buffered === 0 ? this.#o.soloWindow : this.#o.initialWindow,
      schedule: (s) => this.#schedule(s),
      sendData: (s, chunk) => this.#sendData(s, chunk),
      sendWindow: (stream, increment) => this.#send({ type: 'WINDOW', stream, increment }),
      sendFin: (stream) => this.#send({ type: 'FIN', stream }),
      sendReset: (stream, code, message) => {
        this.#outbound.delete(stream);
        this.#send({ type: 'RESET', stream, code, message });
      },
      consumed: (bytes) => this.#consumed(bytes),
      release: (s) => this.#release(s),
    };
    carrier.start(
      {
        frame: (buf) => this.#onFrame(buf),
        drain: () => {
          this.#congested = false;
          this.#pump();
        },
        fault: (err) => this.#fail(SpokeError.from(err, { hop: carrier.description })),
        closed: (err) => this.#onCarrierClosed(err),
      },
      frameLimit(this.#o.maxFrame),
    );
    // The initiator speaks first; the responder answers only once it accepted the initiator (PROTOCOL.md §3).
    if (this.#o.role === 'initiator') this.#sendHello();
    this.#handshakeTimer = setTimeout(
      () =>
        this.#fail(
          new SpokeError(
            'ERR_HANDSHAKE_TIMEOUT',
            `No HELLO from the peer on ${carrier.description} within ${this.#o.handshakeTimeoutMs} ms. Check that the peer speaks spoke/1.`,
          ),
        ),
      this.#o.handshakeTimeoutMs,
    );
    this.#handshakeTimer.unref();
  }

  #sendHello(): void {
    this.#send({
      type: 'HELLO',
      versions: [...PROTOCOL_VERSIONS],
      role: this.#o.role,
      id: this.#o.id,
      identifiers: this.#o.identifiers,
      maxFrame: this.#o.maxFrame,
      initialWindow: this.#o.initialWindow,
      sessionWindow: this.#o.sessionWindow,
      ...(this.#o.auth !== undefined ? { auth: this.#o.auth } : {}),
      ...(this.#o.extensions !== undefined ? { extensions: this.#o.extensions } : {}),
    });
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
    return { ...this.#stats, streams: this.#streams.size };
  }

  /** Why the session closed (undefined while open or after a clean close). */
  get closeError(): SpokeError | undefined {
    return this.#closeError;
  }

  /** Resolves with the peer's HELLO once the handshake is done; rejects if the session dies first. */
  ready(options: { signal?: AbortSignal } = {}): Promise<PeerHello> {
    if (!options.signal) return this.#ready;
    const signal = options.signal;
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#ready.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
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
      return Promise.reject(err);
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
      const id = this.#nextId;
      if (id > 2 ** 32 - 1) throw new SpokeError('ERR_TOO_MANY_STREAMS', 'This session used up its stream ids; open a new session.', info);
      this.#nextId += 2;
      const stream = new SessionStream(this.#host, id, text, this.#peer?.initialWindow ?? 0);
      this.#streams.set(id, stream);
      this.#stats.streams++;
      return new Promise<Duplex>((resolve, reject) => {
        const onAbort = (): void => {
          if (!this.#outbound.has(id)) return;
          this.#outbound.delete(id);
          this.#send({ type: 'RESET', stream: id, code: 'ERR_STREAM_RESET', message: 'dial cancelled' });
          stream.destroy();
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.#outbound.set(id, {
          resolve: (s) => {
            signal.removeEventListener('abort', onAbort);
            // A RESET right behind DIAL_OK would emit 'error' (next tick) before the caller's
            // continuation (a microtask later) can listen. Cover that gap; the caller still
            // sees the stream destroyed and errored.
            const gap = (): void => {};
            s.on('error', gap);
            setImmediate(() => s.off('error', gap));
            resolve(s);
          },
          reject: (e) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
            stream.destroy();
          },
        });
        this.#send({ type: 'DIAL', stream: id, target: text });
      });
    });
  }

  /** Round trip to the peer in milliseconds. */
  ping(options: { signal?: AbortSignal } = {}): Promise<number> {
    if (this.#state === 'closed') return Promise.reject(this.#unavailable('ping'));
    const nonce = (this.#nonce = (this.#nonce + 1) >>> 0);
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => {
        this.#pings.delete(nonce);
        reject(signal?.reason);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pings.set(nonce, {
        resolve: (ms) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(ms);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        t0: performance.now(),
      });
      this.#send({ type: 'PING', nonce });
    });
  }

  /**
   * Graceful close: GOAWAY, no new streams, existing ones finish (up to the
   * drain timeout, after which they are reset), then the carrier closes.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return this.#closed;
    if (this.#state !== 'draining') {
      this.#state = 'draining';
      this.#send({ type: 'GOAWAY', code: 'ERR_TUNNEL_CLOSED', message: 'closing', lastStream: this.#lastPeerId });
      const outbound = [...this.#outbound.values()];
      this.#outbound.clear();
      for (const pending of outbound) pending.reject(this.#unavailable('the pending dial'));
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

  // ---- frames in -----------------------------------------------------------

  #onFrame(buf: Buffer): void {
    if (this.#state === 'closed') return;
    this.#lastReceived = Date.now();
    this.#stats.framesIn++;
    let frame: Frame;
    try {
      frame = decodeFrame(buf, this.#o.maxFrame);
    } catch (err) {
      this.#fail(SpokeError.from(err));
      return;
    }
    if (this.#peer === undefined && frame.type !== 'HELLO' && frame.type !== 'GOAWAY') {
      this.#fail(new SpokeError('ERR_PROTOCOL', `The peer sent ${frame.type} before HELLO; it does not speak spoke/1.`));
      return;
    }
    switch (frame.type) {
      case 'HELLO':
        return this.#onHello(frame);
      case 'DATA':
        return this.#onData(frame.stream, frame.data);
      case 'WINDOW':
        return this.#onWindow(frame.stream, frame.increment);
      case 'FIN': {
        const s = this.#known(frame.stream, 'FIN');
        s?.onFin();
        return;
      }
      case 'DIAL':
        return this.#onDial(frame.stream, frame.target, frame.protocol);
      case 'DIAL_OK': {
        const pending = this.#outbound.get(frame.stream);
        const s = this.#streams.get(frame.stream);
        if (pending && s) {
          this.#outbound.delete(frame.stream);
          s.opened = true;
          pending.resolve(s);
        } else this.#known(frame.stream, 'DIAL_OK');
        return;
      }
      case 'DIAL_ERR': {
        const pending = this.#outbound.get(frame.stream);
        if (pending) {
          this.#outbound.delete(frame.stream);
          const s = this.#streams.get(frame.stream);
          pending.reject(new SpokeError(wireCode(frame.code, 'ERR_DIAL_FAILED'), frame.message, { target: s?.target, hop: 'spoke' }));
        } else this.#known(frame.stream, 'DIAL_ERR');
        return;
      }
      case 'RESET': {
        const abort = this.#inbound.get(frame.stream);
        if (abort) {
          // A cancelled dial: nobody holds the stream yet, so it just goes away.
          this.#inbound.delete(frame.stream);
          abort.abort(new SpokeError('ERR_STREAM_RESET', 'The peer cancelled the dial.'));
          this.#streams.get(frame.stream)?.destroy();
          return;
        }
        const pending = this.#outbound.get(frame.stream);
        if (pending) {
          // A RESET instead of DIAL_OK/DIAL_ERR: the dial fails with the peer's code.
          this.#outbound.delete(frame.stream);
          const target = this.#streams.get(frame.stream)?.target;
          pending.reject(
            new SpokeError(
              wireCode(frame.code, 'ERR_STREAM_RESET'),
              `The far side reset the stream to ${target} before answering: ${frame.message}`,
              { target, hop: 'spoke' },
            ),
          );
          return;
        }
        const s = this.#known(frame.stream, 'RESET');
        s?.onReset(frame.code, frame.message);
        return;
      }
      case 'PING':
        this.#send({ type: 'PONG', nonce: frame.nonce });
        return;
      case 'PONG': {
        const p = this.#pings.get(frame.nonce);
        if (p) {
          this.#pings.delete(frame.nonce);
          p.resolve(performance.now() - p.t0);
        }
        return;
      }
      case 'GOAWAY':
        return this.#onGoAway(frame.code, frame.message);
    }
  }

  #onHello(hello: HelloFrame): void {
    if (this.#peer !== undefined) {
      this.#fail(new SpokeError('ERR_PROTOCOL', 'The peer sent a second HELLO; it violates spoke/1.'));
      return;
    }
    const common = hello.versions.filter((v) => PROTOCOL_VERSIONS.includes(v));
    if (common.length === 0) {
      this.#fail(
        new SpokeError(
          'ERR_VERSION_MISMATCH',
          `The peer speaks spoke versions [${hello.versions.join(', ')}], this side [${PROTOCOL_VERSIONS.join(', ')}]. Upgrade the older side.`,
        ),
      );
      return;
    }
    if (hello.role === this.#o.role) {
      this.#fail(
        new SpokeError(
          'ERR_PROTOCOL',
          `Both sides claim the role "${hello.role}"; one end must be the initiator and the other the responder.`,
        ),
      );
      return;
    }
    const peer: PeerHello = {
      id: hello.id,
      identifiers: hello.identifiers,
      role: hello.role,
      version: Math.max(...common),
      maxFrame: hello.maxFrame,
      initialWindow: hello.initialWindow,
      sessionWindow: hello.sessionWindow,
      ...(hello.auth !== undefined ? { auth: hello.auth } : {}),
      ...(hello.extensions !== undefined ? { extensions: hello.extensions } : {}),
    };
    try {
      this.#o.onHello?.(peer);
    } catch (err) {
      this.#fail(
        err instanceof SpokeError
          ? err
          : new SpokeError('ERR_AUTH_FAILED', `The peer was refused: ${(err as Error).message}`, { cause: err }),
      );
      return;
    }
    this.#peer = peer;
    if (this.#o.role === 'responder') this.#sendHello();
    this.#sendCredit = peer.sessionWindow;
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    if (this.#state === 'connecting') this.#state = 'open';
    this.#startKeepalive();
    this.#readyResolve(peer);
    this.emit('open', peer);
  }

  #onData(id: number, data: Buffer): void {
    this.#stats.bytesIn += data.length;
    if (data.length > this.#recvRemaining) {
      this.#fail(
        new SpokeError(
          'ERR_FLOW_CONTROL',
          `The peer sent beyond the session window (${this.#o.sessionWindow} bytes); it violates spoke/1 flow control.`,
        ),
      );
      return;
    }
    this.#recvRemaining -= data.length;
    this.#receiving.note(id);
    const s = this.#streams.get(id);
    if (s !== undefined && s.opened) {
      s.onData(data);
      return;
    }
    // A stream we already finished (or never saw): give the bytes back to the session window.
    this.#consumed(data.length);
    if (!this.#wasOpened(id)) this.#fail(new SpokeError('ERR_PROTOCOL', `The peer sent DATA for stream ${id}, which was never opened.`));
  }

  #onWindow(id: number, increment: number): void {
    if (id === 0) {
      if (this.#sendCredit + increment > LIMITS.maxWindow) {
        this.#fail(
          new SpokeError('ERR_FLOW_CONTROL', 'The peer granted session credit beyond 2^31-1 bytes; it violates spoke/1 flow control.'),
        );
        return;
      }
      this.#sendCredit += increment;
      for (const s of this.#blockedOnSession) this.#schedule(s);
      this.#blockedOnSession.clear();
      return;
    }
    this.#known(id, 'WINDOW')?.onWindow(increment);
  }

  #onDial(id: number, targetText: string, protocol: string | undefined): void {
    const peerParity = this.#o.role === 'initiator' ? 0 : 1;
    if (id % 2 !== peerParity || id <= this.#lastPeerId) {
      this.#fail(
        new SpokeError(
          'ERR_PROTOCOL',
          `The peer opened stream ${id}, which has the wrong parity or is not above its last id ${this.#lastPeerId}.`,
        ),
      );
      return;
    }
    this.#lastPeerId = id;
    const refuse = (code: SpokeErrorCode, message: string): void => this.#send({ type: 'DIAL_ERR', stream: id, code, message });
    if (this.#state !== 'open') return refuse('ERR_TUNNEL_CLOSED', 'The session is closing; dial through another tunnel.');
    if (this.#streams.size >= this.#o.maxStreams || this.#inbound.size >= this.#o.maxPendingDials) {
      return refuse('ERR_TOO_MANY_STREAMS', 'The far side has too many streams or pending dials; retry later.');
    }
    let target: Target;
    try {
      target = parseTarget(targetText);
    } catch (err) {
      return refuse('ERR_BAD_TARGET', (err as Error).message);
    }
    const handler = this.#o.onDial;
    if (handler === undefined && this.listenerCount('stream') === 0) {
      return refuse('ERR_DIAL_DENIED', 'This peer accepts no dials.');
    }
    const stream = new SessionStream(this.#host, id, formatTarget(target), this.#peer?.initialWindow ?? 0);
    this.#streams.set(id, stream);
    this.#stats.streams++;
    const abort = new AbortController();
    this.#inbound.set(id, abort);
    const info: IncomingDial = {
      target,
      targetText,
      stream: id,
      signal: abort.signal,
      session: this,
      ...(protocol !== undefined ? { protocol } : {}),
    };
    const accept = (): boolean => {
      const live = this.#inbound.get(id) === abort;
      this.#inbound.delete(id);
      if (!live || stream.destroyed || this.#state === 'closed') return false;
      stream.opened = true;
      this.#send({ type: 'DIAL_OK', stream: id });
      return true;
    };
    const reject = (err: unknown): void => {
      const live = this.#inbound.get(id) === abort;
      this.#inbound.delete(id);
      stream.destroy();
      if (!live || this.#state === 'closed') return;
      const e = isAbortError(err)
        ? new SpokeError('ERR_DIAL_TIMEOUT', 'The dial was abandoned on the far side.')
        : SpokeError.from(err, { target, hop: 'spoke' });
      refuse(e.code, e.message);
    };
    if (handler === undefined) {
      if (accept()) this.emit('stream', stream, info);
      return;
    }
    let result: Promise<Duplex> | Duplex;
    try {
      result = handler(target, info);
    } catch (err) {
      reject(err);
      return;
    }
    Promise.resolve(result).then((far) => {
      if (!accept()) {
        far.destroy();
        return;
      }
      splice(stream, far);
    }, reject);
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

  // A stream frame for an id we no longer (or never) had.
  #known(id: number, what: string): SessionStream | undefined {
    const s = this.#streams.get(id);
    if (s) return s;
    if (!this.#wasOpened(id)) this.#fail(new SpokeError('ERR_PROTOCOL', `The peer sent ${what} for stream ${id}, which was never opened.`));
    return undefined;
  }

  #wasOpened(id: number): boolean {
    const ours = this.#o.role === 'initiator' ? id % 2 === 1 : id % 2 === 0;
    return ours ? id < this.#nextId : id <= this.#lastPeerId;
  }

  // ---- frames out -----------------------------------------------------------

  #send(frame: Frame): void {
    if (this.#state === 'closed') return;
    this.#stats.framesOut++;
    if (!this.#carrier.send(encodeFrame(frame))) this.#congested = true;
  }

  #sendData(s: SessionStream, chunk: Buffer): number {
    const n = Math.min(chunk.length, this.#sendCredit);
    if (n <= 0) {
      this.#blockedOnSession.add(s);
      return 0;
    }
    this.#sendCredit -= n;
    this.#sending.note(s.id);
    this.#stats.bytesOut += n;
    this.#stats.framesOut++;
    if (!this.#carrier.sendData(encodeDataHeader(s.id), n === chunk.length ? chunk : chunk.subarray(0, n))) this.#congested = true;
    return n;
  }

  // While streams compete, smaller frames let another stream's frame through sooner: what
  // waits ahead of it in the carrier is at most one frame per busy stream.
  #frameSize(): number {
    const size = this.#sending.contended ? this.#o.sharedFrameSize : this.#o.frameSize;
    return Math.min(size, this.#peer?.maxFrame ?? LIMITS.minFrame);
  }

  #schedule(s: SessionStream): void {
    if (s.scheduled || s.destroyed) return;
    s.scheduled = true;
    this.#queue.push(s);
    this.#pump();
  }

  // Round-robin, one frame per stream per turn, while the carrier takes more.
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#congested && this.#queue.length > 0 && this.#state !== 'closed') {
        const s = this.#queue.shift() as SessionStream;
        s.scheduled = false;
        if (s.sendOne() && !s.scheduled) {
          s.scheduled = true;
          this.#queue.push(s);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  #consumed(bytes: number): void {
    this.#consumedUngranted += bytes;
    if (this.#consumedUngranted >= this.#o.sessionWindow / 4) {
      const inc = this.#consumedUngranted;
      this.#consumedUngranted = 0;
      this.#recvRemaining += inc;
      this.#send({ type: 'WINDOW', stream: 0, increment: inc });
    }
  }

  #release(s: SessionStream): void {
    if (this.#streams.get(s.id) === s) this.#streams.delete(s.id);
    this.#blockedOnSession.delete(s);
    const pending = this.#outbound.get(s.id);
    if (pending) {
      this.#outbound.delete(s.id);
      pending.reject(new SpokeError('ERR_STREAM_RESET', `The stream to ${s.target} was closed before the peer answered.`));
    }
    this.#maybeFinishDrain();
  }

  // ---- liveness and shutdown --------------------------------------------------

  #startKeepalive(): void {
    const every = Math.max(5, Math.min(this.#o.keepaliveMs, this.#o.idleTimeoutMs / 4));
    this.#tick = setInterval(() => {
      const now = Date.now();
      if (now - this.#lastReceived >= this.#o.idleTimeoutMs) {
        this.destroy(
          new SpokeError(
            'ERR_TUNNEL_CLOSED',
            `The peer on ${this.#carrier.description} sent nothing for ${now - this.#lastReceived} ms (idle timeout ${this.#o.idleTimeoutMs} ms) and is considered dead. Dial again.`,
          ),
        );
        return;
      }
      if (now - this.#lastPing >= this.#o.keepaliveMs) {
        this.#lastPing = now;
        this.#nonce = (this.#nonce + 1) >>> 0;
        this.#send({ type: 'PING', nonce: this.#nonce });
      }
    }, every);
    this.#tick.unref();
  }

  #maybeFinishDrain(): void {
    if (this.#state !== 'draining' || this.#streams.size > 0 || this.#inbound.size > 0 || this.#carrierClosing) return;
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
    this.#send({ type: 'GOAWAY', code: err.code, message: err.message, lastStream: this.#lastPeerId });
    this.#closeCarrier();
    this.#finalize(err);
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
    if (err) this.#closeError ??= err;
    for (const t of [this.#handshakeTimer, this.#drainTimer]) if (t) clearTimeout(t);
    if (this.#tick) clearInterval(this.#tick);
    const cause = this.#closeError;
    const streamErr = (target: string): SpokeError =>
      new SpokeError('ERR_TUNNEL_CLOSED', `The tunnel carrying this stream closed${cause ? `: ${cause.message}` : '.'}`, {
        ...(cause ? { cause } : {}),
        target,
        hop: 'spoke',
      });
    const outbound = [...this.#outbound.values()];
    this.#outbound.clear();
    for (const pending of outbound) pending.reject(streamErr('a pending dial'));
    for (const [, abort] of this.#inbound) abort.abort(streamErr('a pending dial'));
    this.#inbound.clear();
    // Streams nobody holds yet (pending dials) go quietly; their dial promises carry the error.
    for (const s of [...this.#streams.values()]) s.destroy(s.opened ? streamErr(s.target) : undefined);
    this.#streams.clear();
    for (const [, p] of this.#pings) p.reject(streamErr('ping'));
    this.#pings.clear();
    this.#queue.length = 0;
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
