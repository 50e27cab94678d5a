import type net from 'node:net';
import { onAbort } from '@spoke/transport-core/utils';
import type { CommandContext } from './command.js';
import type { ConnectionTracker } from './connection-tracker.js';
import { EXIT_OK } from './errors.js';

/** Resolves when `signal` aborts (at once if it already has). */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => onAbort(signal, () => resolve()));
}

/**
 * Keeps listeners running until SIGINT/SIGTERM, then shuts down gracefully:
 * stops accepting, lets open connections finish for up to `graceMs`, cuts the
 * rest. A second signal exits at once (main.ts). `onShutdown` runs once the
 * signal arrives (e.g. to close idle keep-alive connections).
 */
export async function serveUntilShutdown(
  servers: readonly net.Server[],
  tracker: ConnectionTracker,
  graceMs: number,
  context: CommandContext,
  onShutdown?: () => void,
): Promise<void> {
  for (const server of servers) server.on('error', (err) => context.logger.error('listener failed', { error: err.message }));
  await aborted(context.shutdown);
  onShutdown?.();
  // Not waiting for close()'s callback: the tracker decides when connections are done (and cuts them after the grace period).
  for (const server of servers) server.close();
  if (tracker.size > 0) {
    // Say what the wait is for, and how to skip it.
    context.logger.info('shutting down: waiting for open connections to finish (Ctrl-C again to exit now)', {
      open: tracker.size,
      graceMs,
    });
  } else context.logger.info('shutting down', { open: 0 });
  const cut = await tracker.drain(graceMs);
  if (cut > 0) context.logger.warn('closed connections still open after the grace period', { count: cut });
}

/** A long-running service a command started (a hub, an agent, a Konnectivity server). */
export interface Service {
  /** Graceful stop: announce it to peers, let streams finish. */
  close(): Promise<void>;
  /** Immediate stop; runs however the command ends, so it must be idempotent. */
  destroy(): void;
}

/**
 * Runs `service` until SIGINT/SIGTERM: `start` (announce it, open extras)
 * runs first; on the signal, logs `stopping` and closes the service
 * gracefully (a second signal exits at once: main.ts). The service is
 * destroyed however this ends, a failed start included.
 */
export async function runService(
  service: Service,
  context: CommandContext,
  stopping: string,
  start: () => Promise<void> | void,
): Promise<number> {
  try {
    await start();
    await aborted(context.shutdown);
    context.logger.info(stopping);
    await service.close();
    return EXIT_OK;
  } finally {
    service.destroy();
  }
}
