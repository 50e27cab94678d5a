import type net from 'node:net';
import type { CommandContext } from './command.js';
import type { ConnectionTracker } from './connection-tracker.js';

/** Resolves when `signal` aborts (at once if it already has). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
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
  context.logger.info('shutting down', { open: tracker.size, graceMs });
  const cut = await tracker.drain(graceMs);
  if (cut > 0) context.logger.warn('closed connections still open after the grace period', { count: cut });
}
