import { createMetricsRegistry, serveHealth } from '@spoke/transport-core/utils';
import { listenHealthPort, type HealthPort } from '../health-port.js';

/** What the agent's health endpoints report. */
export interface AgentHealthSource {
  servers(): number;
  serverCount(): number;
  connections(): number;
}

const P = 'konnectivity_network_proxy_agent';

/**
 * The agent's health port, as upstream's: `/healthz` → ok; `/readyz` and
 * `/ready` → 200 ok with at least one server stream, else 503 with the
 * failed check; `/metrics` under upstream's metric names.
 */
export function startAgentHealth(port: number, host: string | undefined, src: AgentHealthSource): Promise<HealthPort> {
  const metrics = createMetricsRegistry();
  metrics.gauge(`${P}_open_server_connections`, 'Current number of open server connections', () => src.servers());
  metrics.gauge(`${P}_known_server_count`, 'Number of proxy servers the agent was told about (servercount)', () => src.serverCount());
  metrics.gauge(`${P}_open_endpoint_connections`, 'Current number of open connections to destinations', () => src.connections());
  const ready = (): { ok: boolean; text: string } =>
    src.servers() > 0 ? { ok: true, text: 'ok' } : { ok: false, text: '[-]server-connected failed: no servers connected' };
  return listenHealthPort(port, host, (req, res) => serveHealth(req, res, { ready, metrics: () => metrics.render() }));
}
