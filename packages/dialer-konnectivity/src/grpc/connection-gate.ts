import net from 'node:net';
import { SpokeError } from '@spoke/transport-core';

/** Bounds on the TCP connections a listener accepts before they authenticate. */
export interface ConnectionLimits {
  /** Connections open at once; one more is closed on accept, before TLS. */
  maxConnections: number;
  /** Connections open at once from one source address. */
  maxConnectionsPerAddress: number;
  /** A connection that has not made its first request (TLS handshake, HTTP/2 preface, request) this long after accept is closed. */
  preAuthTimeoutMs: number;
}

/** Why a connection was closed by the gate. */
export type GateRefusal = 'max_connections' | 'max_connections_per_address';

/** What the gate reports, for metrics and logs. */
export interface ConnectionGateEvents {
  refused?: (reason: GateRefusal, address: string) => void;
  preAuthTimeout?: (address: string) => void;
}

/** Checks that limits are positive integers (a zero cap would refuse everything; say so instead). */
export function checkConnectionLimits(limits: ConnectionLimits, names: Record<keyof ConnectionLimits, string>): void {
  for (const key of Object.keys(names) as Array<keyof ConnectionLimits>) {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new SpokeError('ERR_BAD_OPTION', `${names[key]} must be a positive integer, got ${String(value)}.`);
    }
  }
  if (limits.maxConnectionsPerAddress > limits.maxConnections) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `${names.maxConnectionsPerAddress} (${limits.maxConnectionsPerAddress}) exceeds ${names.maxConnections} (${limits.maxConnections}).`,
    );
  }
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are one peer. */
function sourceAddress(socket: net.Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

/** Identifies one TCP connection whether seen as its raw socket or as the TLS socket wrapping it. */
function connectionKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

/**
 * The TCP listener in front of a TLS (or HTTP/2) server: it counts connections in total and per
 * source address and closes one over a cap as soon as it is accepted, before the TLS server
 * sees a byte of it, so a flood of idle connections costs a file descriptor for an instant
 * rather than a handshake each. Every admitted connection must make its first request within
 * `preAuthTimeoutMs` ({@link ConnectionGate.settled}), or it is destroyed.
 */
export class ConnectionGate {
  /** The listening server; admitted sockets are handed to the target with its 'connection' event. */
  readonly server: net.Server;
  readonly #limits: ConnectionLimits;
  readonly #events: ConnectionGateEvents;
  readonly #perAddress = new Map<string, number>();
  /** Pre-auth deadlines of admitted connections that have not made a request yet. */
  readonly #deadlines = new Map<string, NodeJS.Timeout>();
  /** The TLS sockets of those connections: past the handshake, TLS owns the handle and destroying the raw socket does not close it. */
  readonly #secured = new Map<string, () => void>();
  #open = 0;

  constructor(target: net.Server, limits: ConnectionLimits, events: ConnectionGateEvents = {}) {
    this.#limits = limits;
    this.#events = events;
    this.server = net.createServer({ noDelay: true }, (socket) => {
      if (this.#admit(socket)) target.emit('connection', socket);
    });
    target.on('secureConnection', (secure: net.Socket) => this.adopt(secure, () => secure.destroy()));
  }

  /** Connections open now. */
  get open(): number {
    return this.#open;
  }

  /**
   * What closes the connection once a layer above took it over (the TLS socket, then the HTTP/2
   * session, which owns that socket: destroying either socket below it leaves the session open).
   */
  adopt(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }, close: () => void): void {
    const key = connectionKey(socket);
    if (this.#deadlines.has(key)) this.#secured.set(key, close);
  }

  /** The connection made its first request: its pre-auth deadline no longer applies. */
  settled(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): void {
    const key = connectionKey(socket);
    const timer = this.#deadlines.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#deadlines.delete(key);
    this.#secured.delete(key);
  }

  #admit(socket: net.Socket): boolean {
    const address = sourceAddress(socket);
    const fromAddress = this.#perAddress.get(address) ?? 0;
    const refusal: GateRefusal | undefined =
      this.#open >= this.#limits.maxConnections
        ? 'max_connections'
        : fromAddress >= this.#limits.maxConnectionsPerAddress
          ? 'max_connections_per_address'
          : undefined;
    if (refusal !== undefined) {
      socket.on('error', () => {});
      // No TLS alert, no FIN handshake to wait for: the fd goes now.
      socket.resetAndDestroy();
      this.#events.refused?.(refusal, address);
      return false;
    }
    this.#open++;
    this.#perAddress.set(address, fromAddress + 1);
    const key = connectionKey(socket);
    const timer = setTimeout(() => {
      this.#deadlines.delete(key);
      this.#events.preAuthTimeout?.(address);
      this.#secured.get(key)?.();
      this.#secured.delete(key);
      socket.destroy();
    }, this.#limits.preAuthTimeoutMs);
    timer.unref();
    this.#deadlines.set(key, timer);
    socket.once('close', () => {
      this.#open--;
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(address, left);
      else this.#perAddress.delete(address);
      if (this.#deadlines.get(key) === timer) {
        clearTimeout(timer);
        this.#deadlines.delete(key);
        this.#secured.delete(key);
      }
    });
    return true;
  }
}
