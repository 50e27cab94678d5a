import type { Duplex } from 'node:stream';
import { SpokeError, formatTarget, type Dialer, type IncomingDial, type Session, type Target } from '@spoke/transport-core';

/** What a reverse listener hands the client for each connection the hub accepted on it. */
export interface ReverseConnection {
  /** The listener's address on the hub's side. */
  bound: string;
  /** Aborted when the hub gives up on the connection or the session dies. */
  signal: AbortSignal;
}

/**
 * Connects one connection the hub accepted on a reverse listener: resolve to the stream it
 * should be joined with (typically a dial to the local target), or throw a SpokeError to refuse it.
 */
export type ReverseConnect = (connection: ReverseConnection) => Promise<Duplex> | Duplex;

/** A listener the hub holds for this client (`spoke forward -R`). */
export interface ReverseListener {
  /** `host:port` the hub bound. */
  readonly bound: string;
  /** Resolves when the listener is gone: its session ended (with why, if not cleanly). */
  readonly closed: Promise<SpokeError | undefined>;
}

/** A spoke dialer that can also ask the hub for listeners on its side. */
export interface SpokeDialer extends Dialer {
  /**
   * Asks the hub to listen on `bind` (`host:port` on the hub's side, port 0 for any) and hands
   * each connection it accepts there to `connect`. The hub must allow it (`spoke hub
   * --allow-reverse`): else `ERR_DIAL_DENIED`; a hub too old to know LISTEN gives
   * `ERR_VERSION_MISMATCH`. The listener lasts as long as the client's session; the session
   * stays open (and keeps the process alive) while it has listeners.
   */
  listen(bind: string, connect: ReverseConnect, options?: { signal?: AbortSignal }): Promise<ReverseListener>;
}

/** Whether `dialer` is a spoke dialer that can open reverse listeners (the last `--via` hop was `spoke+wss://`). */
export function isSpokeDialer(dialer: Dialer): dialer is SpokeDialer {
  return dialer.kind === 'spoke' && typeof (dialer as Partial<SpokeDialer>).listen === 'function';
}

/**
 * The client side of reverse listeners on one session (one instance per session): the listeners
 * it asked for, by bound address, and the `onDial` that accepts the hub's dials for them and
 * nothing else.
 */
export class ReverseRoutes {
  readonly #routes = new Map<string, ReverseConnect>();
  #closed: Promise<SpokeError | undefined> | undefined;

  /** The session's `onDial`: the hub may only reach the listeners this client asked for. */
  readonly onDial = async (target: Target, info: IncomingDial): Promise<Duplex> => {
    const bound = formatTarget(target);
    let connect = this.#routes.get(bound);
    if (connect === undefined) {
      // LISTEN_OK and a DIAL behind it can arrive in one read, before listen()'s caller registered the route.
      await new Promise((resolve) => setImmediate(resolve));
      connect = this.#routes.get(bound);
    }
    if (connect === undefined) {
      throw new SpokeError('ERR_DIAL_DENIED', `The hub asked this client to connect ${bound}, which is no listener it opened; refused.`);
    }
    return connect({ bound, signal: info.signal });
  };

  /** Asks `session` for a listener and routes its connections to `connect`. */
  async listen(session: Session, bind: string, connect: ReverseConnect, signal: AbortSignal | undefined): Promise<ReverseListener> {
    const bound = await session.listen(bind, signal ? { signal } : {});
    this.#routes.set(bound, connect);
    return { bound, closed: this.#closedOf(session) };
  }

  // One 'close' listener for the session however many listeners it carries; the routes go with it.
  #closedOf(session: Session): Promise<SpokeError | undefined> {
    if (this.#closed === undefined) {
      this.#closed = new Promise<SpokeError | undefined>((resolve) => {
        if (session.state === 'closed') resolve(session.closeError);
        else session.once('close', (err?: SpokeError) => resolve(err));
      });
      void this.#closed.then(() => this.#routes.clear());
    }
    return this.#closed;
  }
}
