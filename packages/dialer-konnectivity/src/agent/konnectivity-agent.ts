import { EventEmitter } from 'node:events';
import { startAgentHealth } from './agent-health.js';
import { agentSettings, type KonnectivityAgentOptions } from './agent-options.js';
import { ServerStreams } from './server-streams.js';

export type { KonnectivityAgentOptions } from './agent-options.js';

/** A running agent. Emits `server` (serverId) when a server stream opens and `server-lost` when one ends. */
export interface KonnectivityAgent extends EventEmitter {
  /** This agent's id. */
  readonly agentId: string;
  /** Resolves with the bound health port once it listens (undefined without `healthServerPort`). */
  readonly health: Promise<number | undefined>;
  /** Resolves with the bound admin port once it listens (undefined without `adminServerPort`). */
  readonly admin: Promise<number | undefined>;
  /** Ids of the servers this agent holds a stream to. */
  servers(): string[];
  /** The last `servercount` a server announced (1 before any). */
  readonly serverCount: number;
  /** Graceful: sends DRAIN, stops connecting, waits for open connections (up to `timeoutMs`, default 30 s), then closes. */
  close(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  /** Immediate: closes every stream and connection. */
  destroy(): void;
}

/**
 * Starts a Konnectivity agent: it dials out to a proxy-server's agent port
 * over TLS (`/AgentService/Connect`), keeps streams to `servercount` distinct
 * servers behind that address, and serves their dials to TCP destinations.
 * Wire-compatible with upstream proxy-server.
 */
export function createKonnectivityAgent(options: KonnectivityAgentOptions = {}): KonnectivityAgent {
  const settings = agentSettings(options);
  const emitter = new EventEmitter();
  const streams = new ServerStreams(settings, {
    opened: (serverId) => emitter.emit('server', serverId),
    lost: (serverId) => emitter.emit('server-lost', serverId),
  });
  const source = {
    servers: () => streams.serverIds().length,
    serverCount: () => streams.serverCount,
    connections: () => streams.connections(),
  };
  const healthStarted =
    options.healthServerPort === undefined
      ? Promise.resolve(undefined)
      : startAgentHealth(options.healthServerPort, options.healthServerHost, source);
  healthStarted.catch((err: unknown) => settings.log(`health server failed: ${(err as Error).message}`));
  // Upstream's admin port redirects /metrics to the health port; ours serves the same endpoints itself.
  const adminStarted =
    options.adminServerPort === undefined
      ? Promise.resolve(undefined)
      : startAgentHealth(options.adminServerPort, options.adminBindAddress ?? '127.0.0.1', source);
  adminStarted.catch((err: unknown) => settings.log(`admin server failed: ${(err as Error).message}`));

  const destroy = (): void => {
    streams.stop();
    for (const started of [healthStarted, adminStarted]) {
      void started.then(
        (h) => h?.close(),
        () => {},
      );
    }
  };
  const close = async (closeOptions: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> => {
    if (streams.stopped) return;
    streams.drain();
    const deadline = Date.now() + (closeOptions.timeoutMs ?? 30_000);
    // Connections carry no "idle" event; poll their count until they are gone or time is up.
    while (streams.connections() > 0 && Date.now() < deadline && !closeOptions.signal?.aborted) {
      await new Promise((r) => setTimeout(r, 100));
    }
    destroy();
  };
  return Object.defineProperties(emitter, {
    agentId: { value: settings.agentId, enumerable: true },
    health: {
      value: healthStarted.then(
        (h) => h?.port,
        () => undefined,
      ),
    },
    admin: {
      value: adminStarted.then(
        (h) => h?.port,
        () => undefined,
      ),
    },
    serverCount: { get: () => streams.serverCount, enumerable: true },
    servers: { value: () => streams.serverIds() },
    close: { value: close },
    destroy: { value: destroy },
  }) as KonnectivityAgent;
}
