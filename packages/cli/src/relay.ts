import type { Duplex } from 'node:stream';
import { SpokeError, formatTarget, isAbortError, isSpokeError, type Dialer, type Logger, type Target } from '@spoke/transport-core';
import { splice } from '@spoke/transport-core/utils';
import { cliAdvice } from './advice.js';
import type { ConnectionTracker } from './connection-tracker.js';
import type { TransferStats } from './transfer-stats.js';

/** Who answers HTTP errors from the CLI's proxies (the body's prefix). */
export const PROXY = 'spoke proxy';

/** What forwarders and proxies share to move a client connection to a target. */
export interface RelayContext {
  dialer: Dialer;
  logger: Logger;
  stats: TransferStats;
  tracker: ConnectionTracker;
  /** Bound on each dial. */
  dialTimeoutMs: number;
  /** Aborted on shutdown: pending dials stop. */
  signal: AbortSignal;
}

/**
 * Dials `target` for a client, logging the outcome; a failure is counted and
 * rethrown as a SpokeError (so callers can map its code to a reply).
 */
export async function dialForClient(relay: RelayContext, target: Target, client: string): Promise<Duplex> {
  const where = formatTarget(target);
  try {
    const upstream = await relay.dialer.dial(target, { signal: relay.signal, timeoutMs: relay.dialTimeoutMs });
    relay.logger.debug('connected', { client, target: where });
    return upstream;
  } catch (err) {
    const failure = isAbortError(err)
      ? new SpokeError('ERR_DIALER_CLOSED', `The dial to ${where} was cancelled: spoke is shutting down.`, { target: where })
      : SpokeError.from(err, { target: where });
    relay.stats.dialFailed(failure.code);
    relay.logger.warn('dial failed', { client, target: where, code: failure.code, error: cliAdvice(failure.message) });
    throw failure;
  }
}

/** Joins a client and its upstream both ways (half-close and resets carried), counted and tracked. */
export function joinStreams(relay: RelayContext, client: Duplex, upstream: Duplex, label: { client: string; target: string }): void {
  relay.tracker.attach(upstream);
  relay.stats.count(client, upstream);
  splice(client, upstream, (err) => {
    if (err)
      relay.logger.debug('connection ended with an error', {
        ...label,
        code: isSpokeError(err) ? err.code : undefined,
        error: cliAdvice(err.message),
      });
    else relay.logger.debug('connection closed', label);
  });
}

/** `host:port` of a socket's peer, for logs. */
export function peerName(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  const host = socket.remoteAddress ?? '?';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
}

/**
 * Dials `target` for `client` and, unless the client left meanwhile, runs
 * `ready` (e.g. writes a proxy's success reply) and joins the two streams.
 * Dial failures reject with a SpokeError for the caller to report.
 */
export async function relayClient(
  relay: RelayContext,
  socket: Duplex,
  target: Target,
  client: string,
  ready: (upstream: Duplex) => void = () => {},
): Promise<void> {
  const upstream = await dialForClient(relay, target, client);
  if (socket.destroyed) {
    upstream.destroy();
    return;
  }
  ready(upstream);
  joinStreams(relay, socket, upstream, { client, target: formatTarget(target) });
}

/**
 * Sends a last message (an error reply) and closes a client socket without
 * leaving it half-open: our side ends after the write, the client's unread
 * input is drained so its EOF is seen (no RST that could eat the reply), and
 * a client that never closes is cut after `lingerMs`.
 */
export function closeWith(socket: Duplex, data?: string | Buffer, lingerMs = 5_000): void {
  if (socket.destroyed) return;
  socket.on('error', () => {});
  socket.end(data);
  socket.resume();
  setTimeout(() => socket.destroy(), lingerMs).unref();
}
