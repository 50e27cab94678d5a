import { createMetricsRegistry, type Counter } from '@spoke/transport-core/utils';
import type { ConnectionGateEvents } from '../grpc/connection-gate.js';
import type { BackendManager, ProxyStrategy } from './backends.js';

const P = 'konnectivity_network_proxy_server';

/** The listeners the spoke connection counters are labelled with. */
export type ListenerName = 'agent' | 'frontend';

/** The server's gauges and counters under upstream proxy-server's metric names (plus two spoke counters). */
export class ServerMetrics {
  /** Current calls per gRPC method. */
  readonly grpcConnections = new Map<'Proxy' | 'Connect', number>([
    ['Proxy', 0],
    ['Connect', 0],
  ]);
  httpConnections = 0;
  pendingDials = 0;
  established = 0;
  readonly #registry = createMetricsRegistry();
  readonly #dialFailures: Counter;
  readonly #stalledFrontendCloses: Counter;
  readonly #agentAuthFailures: Counter;
  readonly #refusedConnections: Counter;
  readonly #preAuthTimeouts: Counter;

  constructor(backends: BackendManager, strategies: readonly ProxyStrategy[]) {
    const r = this.#registry;
    r.gauge(
      `${P}_ready_backend_connections`,
      'Number of konnectivity agent connected to the proxy server (deprecated)',
      () => backends.size,
    );
    r.gauge(`${P}_ready_backends`, 'Number of konnectivity agents usable per proxy strategy', () =>
      strategies.map((s) => [{ proxy_strategy: s }, backends.count(s)] as const),
    );
    r.gauge(`${P}_pending_backend_dials`, 'Current number of pending backend dial requests', () => this.pendingDials);
    r.gauge(`${P}_established_connections`, 'Current number of established end-to-end connections', () => this.established);
    r.gauge(`${P}_grpc_connections`, 'Number of current grpc connections, partitioned by service method', () =>
      [...this.grpcConnections].map(([m, n]) => [{ service_method: m }, n] as const),
    );
    r.gauge(`${P}_http_connections`, 'Number of current HTTP CONNECT connections', () => this.httpConnections);
    this.#dialFailures = r.counter(`${P}_dial_failure_count`, 'Number of dial failures observed, by reason');
    this.#stalledFrontendCloses = r.counter(
      `${P}_stalled_frontend_closes_total`,
      'spoke: connections closed because their front end stopped reading',
    );
    this.#agentAuthFailures = r.counter(`${P}_agent_auth_failures_total`, 'spoke: agent connections refused by token authentication');
    this.#refusedConnections = r.counter(
      `${P}_refused_connections_total`,
      'spoke: connections closed on accept by a connection cap, by port and reason',
    );
    this.#preAuthTimeouts = r.counter(
      `${P}_preauth_timeouts_total`,
      'spoke: connections closed because they sent no request within the pre-auth deadline, by port',
    );
    // Unlabelled counters are exposed from zero, as before they first count.
    this.#stalledFrontendCloses.inc({}, 0);
    this.#agentAuthFailures.inc({}, 0);
  }

  dialFailure(reason: string): void {
    this.#dialFailures.inc({ reason });
  }

  /** A connection closed because its front end stopped reading (spoke only). */
  stalledFrontendClose(): void {
    this.#stalledFrontendCloses.inc();
  }

  /** An agent refused by token authentication, static tokens or TokenReview (spoke only). */
  agentAuthFailure(): void {
    this.#agentAuthFailures.inc();
  }

  /** A connection closed on accept by a cap (spoke only). */
  refusedConnection(port: ListenerName, reason: string): void {
    this.#refusedConnections.inc({ port, reason });
  }

  /** A connection closed for missing its pre-auth deadline (spoke only). */
  preAuthTimeout(port: ListenerName): void {
    this.#preAuthTimeouts.inc({ port });
  }

  grpc(method: 'Proxy' | 'Connect', delta: number): void {
    this.grpcConnections.set(method, (this.grpcConnections.get(method) ?? 0) + delta);
  }

  /** Prometheus text exposition. */
  render(): string {
    return this.#registry.render();
  }
}

/** The connection-gate reports of one listener, counted in `metrics` and logged. */
export function gateEvents(metrics: ServerMetrics, port: ListenerName, log: (message: string) => void): ConnectionGateEvents {
  return {
    refused(reason, address) {
      metrics.refusedConnection(port, reason);
      log(`${port} connection from ${address} refused: ${reason}`);
    },
    preAuthTimeout(address) {
      metrics.preAuthTimeout(port);
      log(`${port} connection from ${address} closed: no request within the pre-auth deadline`);
    },
  };
}
