import type { Duplex } from 'node:stream';
import { SpokeError } from '../errors.js';
import type { Target, TcpTarget } from '../target.js';
import { LIMITS, type SessionRole } from './frame.js';
import type { Session } from './session.js';

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
  /** Optional features the peer accepts (HELLO `f`): `"listen"` when it takes LISTEN requests. */
  features: readonly string[];
}

/** A listener the peer asked this side to open (LISTEN, PROTOCOL.md §4a). */
export interface IncomingListen {
  /** Where to listen (port 0: any free port). */
  bind: TcpTarget;
  /** The bind address as the peer wrote it. */
  bindText: string;
  /** Request id. */
  request: number;
  /** Aborted when the session dies before the answer. */
  signal: AbortSignal;
  session: Session;
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

/**
 * Options of a {@link Session}. Limits only: how this side schedules DATA while streams
 * compete is tuned internally (PROTOCOL.md §5).
 */
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
  /**
   * Decides a listener the peer asked for (LISTEN): open it and return (or resolve to) the
   * address it is bound to, or throw a SpokeError (`ERR_DIAL_DENIED`...) to refuse. The
   * connections it accepts are the application's to DIAL back to the peer on this session.
   * With it, our HELLO announces the `"listen"` feature; without it we announce none and
   * refuse LISTEN with `ERR_DIAL_DENIED`.
   */
  onListen?: (bind: TcpTarget, info: IncomingListen) => Promise<string> | string;
  /** Largest DATA payload we accept. Default 65536 (1024 .. 16 MiB). */
  maxFrame?: number;
  /** Credit we grant each stream. Default 262144. */
  initialWindow?: number;
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
  /**
   * Control frames (PONG, WINDOW, DIAL_ERR...) we may queue for a peer that takes none of our
   * frames, in bytes, each frame counted with 64 bytes of bookkeeping on top of its size.
   * Past it we stop reading from the peer and end the session with `ERR_FLOW_CONTROL`: the
   * peer sends faster than it reads. Default 1048576 (65536 .. 2^31-1).
   */
  maxControlBacklog?: number;
}

/**
 * The contention policy's values (PROTOCOL.md §5). Local to this side, nothing on the wire
 * depends on them; tests and benchmarks set them through {@link tuneSession}.
 *
 * @internal
 */
export interface SessionTuning {
  /**
   * Credit we keep open per stream while several streams receive at once, so that a bulk
   * stream cannot queue much ahead of an interactive one. Default 32768 (1024 .. initialWindow;
   * initialWindow turns this off).
   */
  sharedWindow: number;
  /**
   * Credit we keep open for a stream that receives alone while its reader keeps up (has read
   * everything it was given). Default 1048576 (initialWindow .. sessionWindow); a reader that
   * falls behind is back to initialWindow, and competing streams to sharedWindow.
   */
  soloWindow: number;
  /**
   * DATA payload we send for a stream alone. Default 32768 (1024 .. 16 MiB; never above the
   * peer's maxFrame): a frame that fits a 64 KiB socket read is delivered without a copy more often.
   */
  frameSize: number;
  /** DATA payload we send while several streams send at once. Default 16384 (1024 .. frameSize). */
  sharedFrameSize: number;
  /** How long streams count as competing after two of them last moved DATA together. Default 50 ms. */
  contentionHoldMs: number;
}

type Callbacks = 'auth' | 'extensions' | 'onHello' | 'onDial' | 'onListen';

/** Session options with every default filled in, tuning included. */
export type ResolvedSessionOptions = Required<Omit<SessionOptions, Callbacks>> & Pick<SessionOptions, Callbacks> & SessionTuning;

// A symbol, not a property: the tuning never shows in SessionOptions, cannot come from a
// config file spread into the options, and still survives such spreads once attached.
const TUNING = Symbol('spoke.sessionTuning');

/**
 * A copy of `options` carrying contention-policy values for the session built from it.
 *
 * @internal For tests and benchmarks; not exported from the package index.
 */
export function tuneSession<T extends Partial<SessionOptions>>(options: T, tuning: Partial<SessionTuning>): T {
  return { ...options, [TUNING]: tuning };
}

/** Fills in defaults and checks every value (PROTOCOL.md §6); throws `ERR_BAD_OPTION`. */
export function resolveSessionOptions(options: SessionOptions): ResolvedSessionOptions {
  const t: Partial<SessionTuning> = (options as { [TUNING]?: Partial<SessionTuning> })[TUNING] ?? {};
  const initialWindow = options.initialWindow ?? 256 * 1024;
  const sessionWindow = options.sessionWindow ?? 16 * 1024 * 1024;
  const frameSize = t.frameSize ?? 32 * 1024;
  const r: ResolvedSessionOptions = {
    role: options.role,
    id: options.id ?? '',
    identifiers: options.identifiers ?? '',
    auth: options.auth,
    extensions: options.extensions,
    onHello: options.onHello,
    onDial: options.onDial,
    onListen: options.onListen,
    maxFrame: options.maxFrame ?? 64 * 1024,
    initialWindow,
    sharedWindow: t.sharedWindow ?? Math.min(32 * 1024, initialWindow),
    soloWindow: t.soloWindow ?? Math.min(sessionWindow, Math.max(1024 * 1024, initialWindow)),
    frameSize,
    sharedFrameSize: t.sharedFrameSize ?? Math.min(16 * 1024, frameSize),
    contentionHoldMs: t.contentionHoldMs ?? 50,
    sessionWindow,
    maxStreams: options.maxStreams ?? 16_384,
    maxPendingDials: options.maxPendingDials ?? 1024,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    keepaliveMs: options.keepaliveMs ?? 15_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 45_000,
    drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
    maxControlBacklog: options.maxControlBacklog ?? 1024 * 1024,
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
  if (!int(r.maxControlBacklog, 64 * 1024, LIMITS.maxWindow)) bad(`maxControlBacklog ${r.maxControlBacklog} (65536 .. 2^31-1)`);
  for (const k of ['handshakeTimeoutMs', 'keepaliveMs', 'idleTimeoutMs', 'drainTimeoutMs', 'contentionHoldMs'] as const) {
    if (!(r[k] > 0 && Number.isFinite(r[k]))) bad(`${k} ${r[k]}`);
  }
  if (r.idleTimeoutMs <= r.keepaliveMs) bad(`idleTimeoutMs ${r.idleTimeoutMs} (must exceed keepaliveMs ${r.keepaliveMs})`);
  if (Buffer.byteLength(r.id) > LIMITS.id) bad(`id (at most ${LIMITS.id} bytes)`);
  if (Buffer.byteLength(r.identifiers) > LIMITS.identifiers) bad(`identifiers (at most ${LIMITS.identifiers} bytes)`);
  return r;
}
