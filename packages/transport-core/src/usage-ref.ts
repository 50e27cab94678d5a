import type { Duplex } from 'node:stream';

/** What can hold the event loop open: a socket, a server, a timer. */
export interface Refable {
  ref(): unknown;
  unref(): unknown;
}

/** Streams from other dialers (an SSH channel, a session stream) may have no handle of their own. */
const isRefable = (x: object): x is Refable =>
  typeof (x as Partial<Refable>).ref === 'function' && typeof (x as Partial<Refable>).unref === 'function';

/**
 * Lets a pooled connection keep the process alive only while something uses
 * it. A program that dialled through a pooled SSH connection or hub session
 * and is done should exit, not wait for the pool's idle timeout; while a dial
 * is in flight or a stream is open, the connection must stay referenced.
 * The handle starts unreferenced.
 */
export class UsageRef {
  readonly #handles: readonly Refable[];
  #users = 0;

  /** `layers`: everything the connection consists of (a TLS socket and the TCP socket under it); those without ref/unref are skipped. */
  constructor(...layers: object[]) {
    this.#handles = layers.filter(isRefable);
    for (const h of this.#handles) h.unref();
  }

  /** Users right now. */
  get users(): number {
    return this.#users;
  }

  /** Marks one user (a dial in progress, an open stream); the returned release may be called more than once. */
  hold(): () => void {
    if (this.#users++ === 0) for (const h of this.#handles) h.ref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#users === 0) for (const h of this.#handles) h.unref();
    };
  }

  /** Holds until `stream` closes. */
  holdUntilClosed(stream: Duplex): void {
    stream.once('close', this.hold());
  }
}
