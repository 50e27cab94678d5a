import { createMetricsRegistry, type Counter, type Histogram } from '@spoke/transport-core/utils';

const DIAL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the hub's gauges read when scraped. */
export interface HubGaugeSources {
  agents(): number;
  clients(): number;
  streams(): number;
  reverseListeners(): number;
}

/** The hub's Prometheus series (`spoke_hub_*`). */
export class HubMetrics {
  readonly #registry = createMetricsRegistry();
  /** DATA payload carried to and from agents, by `direction` (counted when an agent session ends). */
  readonly bytes: Counter;
  readonly dialSeconds: Histogram;
  /** By error `code`. */
  readonly dialFailures: Counter;
  /** By `role`: agent, client or connect. */
  readonly authFailures: Counter;
  /** By `reason`: max_connections, max_connections_per_address or handshake_timeout (either listener). */
  readonly connectionsRefused: Counter;

  constructor(sources: HubGaugeSources) {
    const r = this.#registry;
    r.gauge('spoke_hub_agents', 'Agents connected to this hub.', () => sources.agents());
    r.gauge('spoke_hub_clients', 'Client sessions connected to this hub.', () => sources.clients());
    r.gauge('spoke_hub_streams', 'Streams open through agents.', () => sources.streams());
    r.gauge('spoke_hub_reverse_listeners', 'Reverse listeners clients hold open on this hub.', () => sources.reverseListeners());
    this.bytes = r.counter('spoke_hub_bytes_total', 'Bytes carried to and from agents (DATA payload).');
    this.dialSeconds = r.histogram('spoke_hub_dial_duration_seconds', 'Time to open a stream through an agent.', DIAL_BUCKETS);
    this.dialFailures = r.counter('spoke_hub_dial_failures_total', 'Failed dials by error code.');
    this.authFailures = r.counter('spoke_hub_auth_failures_total', 'Refused agent or client connections.');
    this.connectionsRefused = r.counter(
      'spoke_hub_connections_refused_total',
      'Connections closed before a request: over a connection cap, or past the handshake timeout.',
    );
  }

  /** Prometheus text (`text/plain; version=0.0.4`). */
  render(): string {
    return this.#registry.render();
  }
}
