import type { HealthPort } from '../health-port.js';
import { AgentService } from './agent-service.js';
import { BackendManager } from './backends.js';
import { listenFrontEnd, type FrontEndListener } from './front-end-listener.js';
import { ServerMetrics } from './metrics.js';
import { serverSettings, type KonnectivityServerOptions } from './server-options.js';
import { listenServerAdmin, listenServerHealth } from './server-health.js';
import { TunnelCore } from './tunnel-core.js';

export type { KonnectivityServerOptions } from './server-options.js';

/** A running Konnectivity server. */
export interface KonnectivityServer {
  /** Bound ports (useful with port 0). */
  readonly ports: { server?: number; agent: number; health?: number; admin?: number };
  readonly serverId: string;
  /** Number of connected agent streams. */
  readonly agents: number;
  /** Prometheus text of the server metrics (also on /metrics). */
  metrics(): string;
  /** Stops accepting, ends streams gracefully. */
  close(): Promise<void>;
  /** Stops at once. */
  destroy(): void;
}

/**
 * Starts a Konnectivity proxy-server that upstream agents and clients (and
 * ours) can use: a front end (gRPC ProxyService or HTTP CONNECT, on a unix
 * socket or mTLS TCP), the AgentService over TLS, and /healthz, /readyz,
 * /metrics.
 */
export async function createKonnectivityServer(options: KonnectivityServerOptions): Promise<KonnectivityServer> {
  const settings = serverSettings(options);
  const backends = new BackendManager(settings.strategies);
  const metrics = new ServerMetrics(backends, settings.strategies);
  const core = new TunnelCore({
    backends,
    metrics,
    backendDialTimeoutMs: options.backendDialTimeoutMs ?? 0,
    maxFrontendQueue: options.maxFrontendQueue ?? 4 * 1024 * 1024,
    frontendStallTimeoutMs: options.frontendStallTimeoutMs ?? 30_000,
    log: settings.log,
  });
  const parts = new ServerParts(core, new AgentService(settings, { backends, core, metrics }));
  try {
    const agentPort = await parts.agentService.listen();
    const frontEnd = (parts.frontEnd = await listenFrontEnd(settings, core, metrics));
    const src = { backends, metrics: () => metrics.render() };
    const health = (parts.health = await listenServerHealth(options, src));
    const admin = (parts.admin = await listenServerAdmin(options, src));
    return {
      ports: {
        agent: agentPort,
        ...(frontEnd.port !== undefined ? { server: frontEnd.port } : {}),
        ...(health !== undefined ? { health: health.port } : {}),
        ...(admin !== undefined ? { admin: admin.port } : {}),
      },
      serverId: settings.serverId,
      get agents() {
        return backends.size;
      },
      metrics: src.metrics,
      close: () => parts.close(),
      destroy: () => parts.destroy(),
    };
  } catch (err) {
    // A port that cannot be bound leaves nothing listening behind it.
    parts.destroy();
    throw err;
  }
}

/** What a server has started, in the order it starts them, and how each stops. */
class ServerParts {
  frontEnd: FrontEndListener | undefined;
  health: HealthPort | undefined;
  admin: HealthPort | undefined;

  constructor(
    readonly core: TunnelCore,
    readonly agentService: AgentService,
  ) {}

  /** Stops accepting front-end connections, waits for the listener to close, then stops the rest. */
  async close(): Promise<void> {
    await this.frontEnd?.close();
    this.destroy();
  }

  destroy(): void {
    this.core.dispose();
    this.agentService.destroy();
    this.frontEnd?.destroy();
    this.health?.close();
    this.admin?.close();
  }
}
