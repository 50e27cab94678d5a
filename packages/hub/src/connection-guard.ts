import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@spoke/transport-core';
import type { HubMetrics } from './hub-metrics.js';

/** What one hub listener lets peers hold before they authenticated. */
export interface ConnectionLimits {
  /** Connections open at once on the listener; Node closes any beyond it as it accepts them. */
  readonly maxConnections: number;
  /** Connections open at once from one source address (IPv4-mapped IPv6 counts as IPv4). */
  readonly maxConnectionsPerAddress: number;
  /** From accept to the first request head, TLS handshake included. */
  readonly handshakeTimeoutMs: number;
}

/** The `reason` label of `spoke_hub_connections_refused_total`. */
export type RefusalReason = 'max_connections' | 'max_connections_per_address' | 'handshake_timeout';

/** A flood refuses thousands of connections a second: one warning per this many ms, with the count. */
const WARN_EVERY_MS = 10_000;

/**
 * Bounds what unauthenticated peers can hold on one listener: connections
 * beyond the caps are closed as they are accepted (before any TLS, so open
 * sessions never notice), and a connection that has not sent its first
 * request head within the deadline is cut. Node's own timers do not do this:
 * the TLS handshake timeout is an idle timer (a trickling peer resets it) and
 * `headersTimeout` is checked only every `connectionsCheckingInterval`.
 */
export class ConnectionGuard {
  readonly #limits: ConnectionLimits;
  readonly #metrics: HubMetrics;
  readonly #log: Logger;
  readonly #perAddress = new Map<string, number>();
  /** Deadlines by connection (see {@link connectionKey}). */
  readonly #deadlines = new Map<unknown, NodeJS.Timeout>();
  #lastWarning = -Infinity;
  #unreported = 0;

  constructor(server: Server, limits: ConnectionLimits, metrics: HubMetrics, log: Logger) {
    this.#limits = limits;
    this.#metrics = metrics;
    this.#log = log;
    server.maxConnections = limits.maxConnections;
    server.on('drop', (peer?: { remoteAddress?: string }) => this.#refused('max_connections', peer?.remoteAddress));
    // After the server's own listener: for TLS the socket is wrapped already, and destroying it ends both.
    server.on('connection', (socket: Socket) => this.#admit(socket));
  }

  /** `socket` (the request's, possibly TLS over the accepted one) sent a request head: the deadline is met. */
  established(socket: Duplex): void {
    const key = connectionKey(socket as Socket);
    clearTimeout(this.#deadlines.get(key));
    this.#deadlines.delete(key);
  }

  #admit(socket: Socket): void {
    const address = addressOf(socket);
    if (address !== undefined) {
      const held = this.#perAddress.get(address) ?? 0;
      if (held >= this.#limits.maxConnectionsPerAddress) {
        socket.destroy();
        this.#refused('max_connections_per_address', address);
        return;
      }
      this.#perAddress.set(address, held + 1);
      socket.once('close', () => {
        const left = (this.#perAddress.get(address) ?? 1) - 1;
        if (left > 0) this.#perAddress.set(address, left);
        else this.#perAddress.delete(address);
      });
    }
    const key = connectionKey(socket);
    const timer = setTimeout(() => {
      this.#deadlines.delete(key);
      socket.destroy();
      this.#refused('handshake_timeout', address);
    }, this.#limits.handshakeTimeoutMs);
    timer.unref();
    this.#deadlines.set(key, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.#deadlines.get(key) === timer) this.#deadlines.delete(key);
    });
  }

  #refused(reason: RefusalReason, remote: string | undefined): void {
    this.#metrics.connectionsRefused.inc({ reason });
    this.#unreported += 1;
    const now = Date.now();
    if (now - this.#lastWarning < WARN_EVERY_MS) return;
    this.#log.warn(
      reason === 'handshake_timeout'
        ? 'connection cut: no request within the handshake timeout'
        : 'connection refused: too many connections',
      {
        reason,
        remote,
        limit:
          reason === 'max_connections'
            ? this.#limits.maxConnections
            : reason === 'max_connections_per_address'
              ? this.#limits.maxConnectionsPerAddress
              : this.#limits.handshakeTimeoutMs,
        count: this.#unreported,
      },
    );
    this.#lastWarning = now;
    this.#unreported = 0;
  }
}

/** The source address a per-address cap counts; undefined for unix sockets (one local peer, file permissions guard them). */
function addressOf(socket: Socket): string | undefined {
  const a = socket.remoteAddress;
  if (a === undefined) return undefined;
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice('::ffff:'.length) : a;
}

/**
 * One connection, seen from its accepted socket or from the TLS socket over
 * it: both share the peer's address and port (unique among open TCP
 * connections to one listener). Unix sockets carry no TLS here: the socket itself.
 */
function connectionKey(socket: Socket): unknown {
  return socket.remoteAddress === undefined ? socket : `${socket.remoteAddress}|${socket.remotePort}`;
}
