import type { Duplex } from 'node:stream';
import { SpokeError, type Dialer } from '@spoke/transport-core';
import { goDialErrorText, parseDialAddress } from '../agent/dial-error-text.js';
import type { DialRouter, Frontend } from './tunnel-core.js';

/** Settings of a {@link DialerRouter}. */
export interface DialerRouterInit {
  dialer: Dialer;
  /** Bound on one dial (the Dialer's own handshakes included); 0 = the dialer's own bound only. */
  dialTimeoutMs: number;
  /** Bytes queued towards one front end above which its stream is paused (until half of it is left). */
  maxFrontendQueue: number;
  /** After the front end's close (CLOSE_REQ, EOF), how long the bytes written before it get to reach the destination before the stream is reset. */
  closeGraceMs: number;
  log: (message: string) => void;
}

/** One front end's dial: running (controller set), then open (stream set). */
interface Link {
  connectID: bigint;
  controller: AbortController;
  stream: Duplex | undefined;
  /** The front end is paused until the stream drains. */
  draining: boolean;
  /** The front end was told the connection is over (remoteClosed / failed), or left: nothing more is said to it. */
  over: boolean;
}

/**
 * Serves front-end dials with a `Dialer` instead of agents: each DIAL_REQ (or
 * CONNECT) becomes one `dialer.dial(address)`, and the stream it returns
 * carries that connection alone. So, unlike the agent protocol, flow control
 * is per connection: a front end that stops reading pauses its own stream
 * (at most `maxFrontendQueue` bytes queued towards it) and nobody else's, and
 * a destination that stops reading pauses its front end.
 */
export class DialerRouter implements DialRouter {
  readonly #init: DialerRouterInit;
  readonly #links = new Map<Frontend, Link>();
  /** Per-router connection IDs, as an agent numbers its connections (1, 2, ...). */
  #nextID = 1n;

  constructor(init: DialerRouterInit) {
    this.#init = init;
  }

  /** Connections being dialled or open. */
  get size(): number {
    return this.#links.size;
  }

  dial(fe: Frontend, address: string): void {
    if (this.#links.has(fe)) return;
    // As an agent would: TCP `host:port` only, so a front end never reaches a unix socket behind the dialer.
    const parsed = parseDialAddress(address);
    if ('error' in parsed) {
      fe.dialed(0n, parsed.error);
      return;
    }
    const link: Link = {
      connectID: this.#nextID++,
      controller: new AbortController(),
      stream: undefined,
      draining: false,
      over: false,
    };
    this.#links.set(fe, link);
    const { dialTimeoutMs } = this.#init;
    this.#init.dialer.dial(address, { signal: link.controller.signal, ...(dialTimeoutMs > 0 ? { timeoutMs: dialTimeoutMs } : {}) }).then(
      (stream) => this.#opened(fe, link, stream),
      (err: unknown) => {
        if (link.controller.signal.aborted || this.#links.get(fe) !== link) return;
        this.#links.delete(fe);
        link.over = true;
        const e = SpokeError.from(err);
        this.#init.log(`dial ${address} failed: ${e.code}: ${e.message}`);
        // No route to the address is the Dialer's "no agent": answered as the server answers when it has none.
        if (e.code === 'ERR_NO_ROUTE') fe.failed('no_agent', e.message);
        else fe.dialed(0n, dialerErrorText(e, address));
      },
    );
  }

  data(fe: Frontend, bytes: Buffer): void {
    const link = this.#links.get(fe);
    const stream = link?.stream;
    if (!link || !stream || stream.writableEnded) return;
    // The destination's backpressure reaches the front end: stop reading it until the stream drains
    // (once: chunks the front end had already read may still arrive while it is paused).
    if (!stream.write(bytes) && !link.draining) {
      link.draining = true;
      fe.pause();
      stream.once('drain', () => {
        link.draining = false;
        fe.resume();
      });
    }
  }

  close(fe: Frontend): void {
    const link = this.#links.get(fe);
    if (!link) return;
    const { stream } = link;
    if (!stream) {
      this.#forget(fe, link);
      return;
    }
    // As an agent answers CLOSE_REQ: the bytes already written still reach the destination (then the stream
    // is closed; `closeGraceMs` bounds a destination that does not read them), and the front end hears at once.
    link.stream = undefined;
    // What the destination still sends has nowhere to go: read and drop it, so its end can come.
    stream.removeAllListeners('data');
    stream.resume();
    stream.end();
    const timer = setTimeout(() => stream.destroy(), this.#init.closeGraceMs);
    timer.unref();
    stream.once('finish', () => stream.destroy());
    stream.once('close', () => clearTimeout(timer));
    this.#remoteClosed(fe, link);
  }

  detach(fe: Frontend): void {
    const link = this.#links.get(fe);
    if (link) {
      link.over = true;
      this.#forget(fe, link);
    }
  }

  /** Resets every connection (the front end is being destroyed). */
  dispose(): void {
    for (const [fe, link] of [...this.#links]) this.#forget(fe, link);
  }

  #opened(fe: Frontend, link: Link, stream: Duplex): void {
    if (this.#links.get(fe) !== link) {
      // The front end left while we dialled.
      stream.destroy();
      return;
    }
    link.stream = stream;
    const { maxFrontendQueue } = this.#init;
    let holding = false;
    stream.on('data', (bytes: Buffer) => {
      fe.data(bytes);
      if (holding || fe.queued() <= maxFrontendQueue) return;
      holding = true;
      stream.pause();
      fe.whenQueueBelow(maxFrontendQueue / 2, () => {
        holding = false;
        if (!stream.destroyed) stream.resume();
      });
    });
    stream.on('error', (err: Error) => this.#init.log(`connection ${link.connectID}: ${err.message}`));
    // The destination's end (or reset) is the end of this connection, as an agent's CLOSE_RSP is.
    stream.on('end', () => this.#remoteClosed(fe, link));
    stream.on('close', () => this.#remoteClosed(fe, link));
    fe.dialed(link.connectID, '');
  }

  #remoteClosed(fe: Frontend, link: Link): void {
    if (link.over) return;
    link.over = true;
    this.#forget(fe, link);
    fe.remoteClosed();
  }

  #forget(fe: Frontend, link: Link): void {
    if (this.#links.get(fe) === link) this.#links.delete(fe);
    link.controller.abort(new SpokeError('ERR_STREAM_RESET', 'The Konnectivity front-end client went away.'));
    link.stream?.destroy();
  }
}

/**
 * DIAL_RSP error text in the words of an upstream agent where the cause is a
 * socket error, so clients (and the HTTP front end's 502/503/504 choice) read
 * it as they read an agent's; otherwise the SpokeError's code and message.
 */
function dialerErrorText(e: SpokeError, address: string): string {
  if (e.code === 'ERR_DIAL_TIMEOUT') return `dial tcp ${address}: i/o timeout`;
  const cause = e.cause;
  if (
    typeof cause === 'object' &&
    cause !== null &&
    typeof (cause as { code?: unknown }).code === 'string' &&
    !String((cause as { code: string }).code).startsWith('ERR_')
  )
    return goDialErrorText(cause, address);
  return `dial tcp ${address}: ${e.code}: ${e.message}`;
}
