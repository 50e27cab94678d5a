import type { Duplex } from 'node:stream';
import { SpokeError, isAbortError, type SpokeErrorCode } from '../errors.js';
import { splice } from '../splice.js';
import { formatTarget, parseTarget, type Target } from '../target.js';
import { decodeFrame } from './codec.js';
import type { Frame, HelloFrame } from './frame.js';
import type { ListenRequests } from './listen-requests.js';
import type { Liveness } from './liveness.js';
import type { ReceiveWindow } from './receive-window.js';
import type { SendScheduler } from './scheduler.js';
import type { Session } from './session.js';
import type { IncomingDial, ResolvedSessionOptions } from './session-options.js';
import { wireCode, type SessionStream } from './session-stream.js';
import type { StreamTable } from './stream-table.js';

/** The parts of a session its frame handlers act on, and the lifecycle steps that stay with the session. */
export interface FrameContext {
  readonly session: Session;
  readonly options: ResolvedSessionOptions;
  readonly streams: StreamTable;
  readonly out: SendScheduler;
  readonly inflow: ReceiveWindow;
  readonly liveness: Liveness;
  readonly listens: ListenRequests;
  /** Ends the session with GOAWAY carrying `err`. */
  fail(err: SpokeError): void;
  /** The peer's first HELLO. */
  hello(frame: HelloFrame): void;
  /** The peer's GOAWAY. */
  goAway(code: string, message: string): void;
}

/**
 * The receiving side of a session: decodes each frame the carrier delivers and applies it
 * (PROTOCOL.md §2-§4, §7). Protocol violations end the session through `fail`.
 */
export class FrameHandlers {
  readonly #c: FrameContext;
  bytesIn = 0;
  framesIn = 0;

  constructor(context: FrameContext) {
    this.#c = context;
  }

  /** One whole frame from the carrier. */
  handle(buf: Buffer): void {
    const c = this.#c;
    if (c.session.state === 'closed') return;
    c.liveness.heard();
    this.framesIn++;
    let frame: Frame;
    try {
      frame = decodeFrame(buf, c.options.maxFrame);
    } catch (err) {
      c.fail(SpokeError.from(err));
      return;
    }
    if (c.session.peer === undefined && frame.type !== 'HELLO' && frame.type !== 'GOAWAY') {
      c.fail(new SpokeError('ERR_PROTOCOL', `The peer sent ${frame.type} before HELLO; it does not speak spoke/1.`));
      return;
    }
    switch (frame.type) {
      case 'HELLO':
        if (c.session.peer !== undefined) {
          c.fail(new SpokeError('ERR_PROTOCOL', 'The peer sent a second HELLO; it violates spoke/1.'));
          return;
        }
        return c.hello(frame);
      case 'DATA':
        return this.#data(frame.stream, frame.data);
      case 'WINDOW':
        return this.#window(frame.stream, frame.increment);
      case 'FIN':
        this.#known(frame.stream, 'FIN')?.onFin();
        return;
      case 'DIAL':
        return this.#dial(frame.stream, frame.target, frame.protocol);
      case 'DIAL_OK': {
        const s = c.streams.get(frame.stream);
        const pending = s !== undefined ? c.streams.takeOutbound(frame.stream) : undefined;
        if (pending && s) {
          s.opened = true;
          pending.resolve(s);
        } else this.#known(frame.stream, 'DIAL_OK');
        return;
      }
      case 'DIAL_ERR': {
        const pending = c.streams.takeOutbound(frame.stream);
        if (pending) {
          const s = c.streams.get(frame.stream);
          pending.reject(new SpokeError(wireCode(frame.code, 'ERR_DIAL_FAILED'), frame.message, { target: s?.target, hop: 'spoke' }));
        } else this.#known(frame.stream, 'DIAL_ERR');
        return;
      }
      case 'RESET':
        return this.#reset(frame.stream, frame.code, frame.message);
      case 'PING':
        c.out.send({ type: 'PONG', nonce: frame.nonce });
        return;
      case 'PONG':
        c.liveness.pong(frame.nonce);
        return;
      case 'GOAWAY':
        return c.goAway(frame.code, frame.message);
      case 'LISTEN':
        return c.listens.requested(frame);
      case 'LISTEN_OK':
      case 'LISTEN_ERR':
        return c.listens.answered(frame);
    }
  }

  #data(id: number, data: Buffer): void {
    const c = this.#c;
    this.bytesIn += data.length;
    if (!c.inflow.take(id, data.length)) {
      c.fail(
        new SpokeError(
          'ERR_FLOW_CONTROL',
          `The peer sent beyond the session window (${c.options.sessionWindow} bytes); it violates spoke/1 flow control.`,
        ),
      );
      return;
    }
    const s = c.streams.get(id);
    if (s !== undefined && s.opened) {
      s.onData(data);
      return;
    }
    // A stream we already finished (or never saw): give the bytes back to the session window.
    c.inflow.consumed(data.length);
    if (!c.streams.wasOpened(id)) c.fail(new SpokeError('ERR_PROTOCOL', `The peer sent DATA for stream ${id}, which was never opened.`));
  }

  #window(id: number, increment: number): void {
    if (id !== 0) {
      this.#known(id, 'WINDOW')?.onWindow(increment);
      return;
    }
    if (!this.#c.out.grant(increment)) {
      this.#c.fail(
        new SpokeError('ERR_FLOW_CONTROL', 'The peer granted session credit beyond 2^31-1 bytes; it violates spoke/1 flow control.'),
      );
    }
  }

  #reset(id: number, code: string, message: string): void {
    const { streams } = this.#c;
    const abort = streams.takeInbound(id);
    if (abort) {
      // A cancelled dial: nobody holds the stream yet, so it just goes away.
      abort.abort(new SpokeError('ERR_STREAM_RESET', 'The peer cancelled the dial.'));
      streams.get(id)?.destroy();
      return;
    }
    const pending = streams.takeOutbound(id);
    if (pending) {
      // A RESET instead of DIAL_OK/DIAL_ERR: the dial fails with the peer's code.
      const target = streams.get(id)?.target;
      pending.reject(
        new SpokeError(wireCode(code, 'ERR_STREAM_RESET'), `The far side reset the stream to ${target} before answering: ${message}`, {
          target,
          hop: 'spoke',
        }),
      );
      return;
    }
    this.#known(id, 'RESET')?.onReset(code, message);
  }

  // The peer asks us to connect a target: onDial decides, or a "stream" listener takes it.
  #dial(id: number, targetText: string, protocol: string | undefined): void {
    const { session, options: o, streams, out } = this.#c;
    const lastPeerId = streams.lastPeerId;
    if (!streams.acceptPeerId(id)) {
      this.#c.fail(
        new SpokeError(
          'ERR_PROTOCOL',
          `The peer opened stream ${id}, which has the wrong parity or is not above its last id ${lastPeerId}.`,
        ),
      );
      return;
    }
    const refuse = (code: SpokeErrorCode, message: string): void => out.send({ type: 'DIAL_ERR', stream: id, code, message });
    if (session.state !== 'open') return refuse('ERR_TUNNEL_CLOSED', 'The session is closing; dial through another tunnel.');
    if (streams.size >= o.maxStreams || streams.pendingInbound >= o.maxPendingDials) {
      return refuse('ERR_TOO_MANY_STREAMS', 'The far side has too many streams or pending dials; retry later.');
    }
    let target: Target;
    try {
      target = parseTarget(targetText);
    } catch (err) {
      return refuse('ERR_BAD_TARGET', (err as Error).message);
    }
    const handler = o.onDial;
    if (handler === undefined && session.listenerCount('stream') === 0) {
      return refuse('ERR_DIAL_DENIED', 'This peer accepts no dials.');
    }
    const stream = streams.open(id, formatTarget(target), session.peer?.initialWindow ?? 0);
    const abort = streams.awaitDecision(id);
    const info: IncomingDial = {
      target,
      targetText,
      stream: id,
      signal: abort.signal,
      session,
      ...(protocol !== undefined ? { protocol } : {}),
    };
    const accept = (): boolean => {
      const live = streams.decide(id, abort);
      if (!live || stream.destroyed || session.state === 'closed') return false;
      stream.opened = true;
      out.send({ type: 'DIAL_OK', stream: id });
      return true;
    };
    const reject = (err: unknown): void => {
      const live = streams.decide(id, abort);
      stream.destroy();
      if (!live || session.state === 'closed') return;
      const e = isAbortError(err)
        ? new SpokeError('ERR_DIAL_TIMEOUT', 'The dial was abandoned on the far side.')
        : SpokeError.from(err, { target, hop: 'spoke' });
      refuse(e.code, e.message);
    };
    if (handler === undefined) {
      if (accept()) session.emit('stream', stream, info);
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

  // A stream frame for an id we no longer (or never) had.
  #known(id: number, what: string): SessionStream | undefined {
    const s = this.#c.streams.get(id);
    if (s) return s;
    if (!this.#c.streams.wasOpened(id)) {
      this.#c.fail(new SpokeError('ERR_PROTOCOL', `The peer sent ${what} for stream ${id}, which was never opened.`));
    }
    return undefined;
  }
}
