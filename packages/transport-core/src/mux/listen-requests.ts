import { SpokeError, isAbortError, abortReasonAsError, asError } from '../errors.js';
import { onAbort } from '../abort.js';
import { parseTarget, type TcpTarget } from '../target.js';
import { FEATURES, type Frame, type ListenErrFrame, type ListenFrame, type ListenOkFrame } from './frame.js';
import { wireCode } from './session-stream.js';
import type { IncomingListen, ResolvedSessionOptions } from './session-options.js';
import type { Session } from './session.js';

/** Peer LISTEN requests we are still deciding at once; more are refused (PROTOCOL.md §4a). */
export const MAX_PENDING_LISTENS = 64;

interface Pending {
  resolve(bound: string): void;
  reject(err: Error): void;
}

/** What the listen requests of a session reach of it. */
export interface ListenContext {
  readonly session: Session;
  readonly options: Pick<ResolvedSessionOptions, 'onListen'>;
  send(frame: Frame): void;
  /** Ends the session with GOAWAY carrying `err`. */
  fail(err: SpokeError): void;
}

/**
 * LISTEN, LISTEN_OK and LISTEN_ERR (PROTOCOL.md §4a): the listeners this side asks the peer
 * for, and the peer's requests that `onListen` decides. The session has no policy of its own:
 * what a listener accepts becomes a DIAL that the side holding it opens toward the requester.
 */
export class ListenRequests {
  readonly #c: ListenContext;
  readonly #outbound = new Map<number, Pending>();
  readonly #inbound = new Map<number, AbortController>();
  #nextRequest = 1;
  #lastPeerRequest = 0;

  constructor(context: ListenContext) {
    this.#c = context;
  }

  /** Sends LISTEN for `bind` (the caller checked that the peer announced the feature); resolves to the bound address. */
  request(bind: string, signal: AbortSignal | undefined): Promise<string> {
    const request = this.#nextRequest++;
    return new Promise<string>((resolve, reject) => {
      let detach = (): void => {};
      this.#outbound.set(request, {
        resolve: (bound) => {
          detach();
          resolve(bound);
        },
        reject: (err) => {
          detach();
          reject(err);
        },
      });
      this.#c.send({ type: 'LISTEN', request, bind });
      // A listener the peer opens after we gave up stays until the session ends: there is no frame to close one.
      detach = onAbort(signal, (reason) => {
        if (this.#outbound.delete(request)) reject(abortReasonAsError(reason));
      });
    });
  }

  /** Our request's answer. */
  answered(frame: ListenOkFrame | ListenErrFrame): void {
    const pending = this.#outbound.get(frame.request);
    if (pending === undefined) {
      // An answer to a request we gave up on is fine; one to a request never sent is not.
      if (frame.request >= this.#nextRequest) {
        this.#c.fail(new SpokeError('ERR_PROTOCOL', `The peer answered LISTEN request ${frame.request}, which was never sent.`));
      }
      return;
    }
    this.#outbound.delete(frame.request);
    if (frame.type === 'LISTEN_OK') pending.resolve(frame.bound);
    else pending.reject(new SpokeError(wireCode(frame.code, 'ERR_DIAL_FAILED'), frame.message, { hop: 'spoke' }));
  }

  /** The peer asks for a listener: `onListen` decides. */
  requested(frame: ListenFrame): void {
    const { session, options } = this.#c;
    const send = (f: Frame): void => this.#c.send(f);
    const { request } = frame;
    if (request <= this.#lastPeerRequest) {
      this.#c.fail(
        new SpokeError('ERR_PROTOCOL', `The peer sent LISTEN request ${request}, not above its last one ${this.#lastPeerRequest}.`),
      );
      return;
    }
    this.#lastPeerRequest = request;
    const refuse = (err: SpokeError): void => send({ type: 'LISTEN_ERR', request, code: err.code, message: err.message });
    const handler = options.onListen;
    if (handler === undefined) return refuse(new SpokeError('ERR_DIAL_DENIED', 'This peer opens no listeners.'));
    if (session.state !== 'open') return refuse(new SpokeError('ERR_TUNNEL_CLOSED', 'The session is closing.'));
    if (this.#inbound.size >= MAX_PENDING_LISTENS) {
      return refuse(
        new SpokeError('ERR_TOO_MANY_STREAMS', `The far side is deciding ${MAX_PENDING_LISTENS} listen requests already; retry later.`),
      );
    }
    let bind: TcpTarget;
    try {
      bind = parseBind(frame.bind);
    } catch (err) {
      return refuse(SpokeError.from(err));
    }
    const abort = new AbortController();
    this.#inbound.set(request, abort);
    const info: IncomingListen = { bind, bindText: frame.bind, request, signal: abort.signal, session };
    const settle = (): boolean => this.#inbound.delete(request) && session.state !== 'closed';
    let result: Promise<string> | string;
    try {
      result = handler(bind, info);
    } catch (err) {
      result = Promise.reject(asError(err));
    }
    Promise.resolve(result).then(
      (bound) => {
        if (settle()) send({ type: 'LISTEN_OK', request, bound });
      },
      (err: unknown) => {
        if (!settle()) return;
        refuse(isAbortError(err) ? new SpokeError('ERR_TUNNEL_CLOSED', 'The listen request was abandoned.') : SpokeError.from(err));
      },
    );
  }

  /** The session ended: our requests fail with `err`, the peer's are abandoned. */
  close(err: SpokeError): void {
    for (const pending of this.#outbound.values()) pending.reject(err);
    this.#outbound.clear();
    for (const abort of this.#inbound.values()) abort.abort(err);
    this.#inbound.clear();
  }
}

/** `host:port` or `[v6]:port` where port 0 asks for any free port; unix sockets are not listen addresses. */
export function parseBind(text: string): TcpTarget {
  // parseTarget refuses port 0, which a bind address may use: check the rest with port 1 in its place.
  const anyPort = text.endsWith(':0');
  const target = parseTarget(anyPort ? `${text.slice(0, -1)}1` : text);
  if (!('host' in target)) {
    throw new SpokeError('ERR_BAD_TARGET', `Cannot listen on ${text}: a listener binds host:port (or [v6]:port), not a unix socket.`);
  }
  return anyPort ? { host: target.host, port: 0 } : target;
}

/** Whether the peer's HELLO announced that it accepts LISTEN. */
export function acceptsListen(features: readonly string[] | undefined): boolean {
  return features?.includes(FEATURES.listen) === true;
}
