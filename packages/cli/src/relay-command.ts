import type net from 'node:net';
import type { Dialer } from '@spoke/transport-core';
import { durationFlag, stringFlag, type OptionDefs, type ParsedValues } from './args.js';
import { formatListen, parseListenAddress, type ListenAddress } from './addresses.js';
import { announce } from './announce.js';
import type { CommandContext } from './command.js';
import { ConnectionTracker } from './connection-tracker.js';
import { dialTimeoutMs } from './commands/dial.js';
import { EXIT_OK } from './errors.js';
import { listen } from './listen.js';
import { startMetricsServer } from './metrics-server.js';
import type { RelayContext } from './relay.js';
import { serveUntilShutdown } from './serve.js';
import { TransferStats, startStatusLine } from './transfer-stats.js';

/** Flags of every command that relays client connections through a dialer (`spoke forward`, `spoke proxy`). */
export const RELAY_OPTIONS: OptionDefs = {
  'connect-timeout': { type: 'string', value: 'DURATION', description: 'bound on each dial (default 30s)' },
  grace: { type: 'string', value: 'DURATION', description: 'on SIGINT/SIGTERM, how long open connections may finish (default 10s)' },
  metrics: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'serve Prometheus /metrics (connections, dial failures by code, bytes), /healthz, /readyz',
  },
};

const GRACE_MS = 10_000;

/** How long a relaying command waits: for each dial, and for open connections at shutdown. */
export interface RelayDurations {
  dialTimeoutMs: number;
  graceMs: number;
}

/** `--connect-timeout` and `--grace`. */
export function relayDurations(values: ParsedValues, usage: string): RelayDurations {
  return { dialTimeoutMs: dialTimeoutMs(values, usage), graceMs: durationFlag(values, 'grace', GRACE_MS, usage) };
}

/** The `--metrics HOST:PORT` address, if given. */
export function metricsFlag(values: ParsedValues, usage: string): ListenAddress | undefined {
  const text = stringFlag(values, 'metrics');
  return text === undefined ? undefined : parseListenAddress(text, 'metrics', usage);
}

/** What a relaying command's `open` gets to start its listeners. */
export interface RelayScope {
  relay: RelayContext;
  /** Starts `server` on `address`; it is closed at shutdown (or if starting fails). Resolves to the bound address. */
  listen: (server: net.Server, address: ListenAddress) => Promise<string>;
  /** Runs `stop` once shutdown begins and again when the command ends (it must be idempotent). */
  onStop: (stop: () => void) => void;
}

/** What a relaying command runs. */
export interface RelayRun {
  /** Names the command in its banner: `spoke NAME listening: ...`. */
  name: string;
  dialer: Dialer;
  durations: RelayDurations;
  metrics: ListenAddress | undefined;
  /** Starts the command's listeners; resolves to one banner entry each, and usage hints if any. */
  open(scope: RelayScope): Promise<{ lines: string[]; hints?: string[] }>;
}

/**
 * Runs a relaying command until SIGINT/SIGTERM: opens its listeners (and
 * `--metrics`), prints one banner line, shows live counters, then shuts down
 * gracefully within `--grace` and closes the dialer.
 */
export async function runRelay(run: RelayRun, context: CommandContext): Promise<number> {
  const tracker = new ConnectionTracker();
  const stats = new TransferStats(() => tracker.size);
  const relay: RelayContext = {
    dialer: run.dialer,
    logger: context.logger,
    stats,
    tracker,
    dialTimeoutMs: run.durations.dialTimeoutMs,
    signal: context.shutdown,
  };
  const servers: net.Server[] = [];
  const stops: Array<() => void> = [];
  const stop = (): void => {
    for (const fn of stops) fn();
  };
  try {
    const opened = await run.open({
      relay,
      listen: async (server, address) => {
        servers.push(server);
        return formatListen(await listen(server, address));
      },
      onStop: (fn) => stops.push(fn),
    });
    const lines = [...opened.lines];
    if (run.metrics) {
      const started = await startMetricsServer(run.metrics, () => stats.metrics.render());
      servers.push(started.server);
      lines.push(`metrics ${started.url}`);
    }
    const hints = opened.hints?.length ? ` (e.g. ${opened.hints.join(' or ')})` : '';
    announce(context, run.name, `${lines.join(', ')}${hints}`, {
      addresses: lines,
      ...(opened.hints?.length ? { hints: opened.hints } : {}),
    });
    const stopStatus = startStatusLine(stats, context.io);
    await serveUntilShutdown(servers, tracker, run.durations.graceMs, context, stop);
    stopStatus();
    context.logger.info('stopped', { total: stats.total, failed: stats.failed, up: stats.up, down: stats.down });
    return EXIT_OK;
  } finally {
    for (const server of servers) server.close();
    stop();
    await run.dialer.close().catch(() => {});
  }
}
