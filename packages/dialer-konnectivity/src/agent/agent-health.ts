import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the agent's health endpoints report. */
export interface AgentHealthSource {
  servers(): number;
  serverCount(): number;
  connections(): number;
}

/**
 * The agent's health port, as upstream's: `/healthz` → ok; `/readyz` and
 * `/ready` → 200 ok with at least one server stream, else 503; `/metrics`.
 */
export async function startAgentHealth(
  port: number,
  host: string | undefined,
  src: AgentHealthSource,
): Promise<{ port: number; close(): void }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return void res.end('ok');
    if (path === '/readyz' || path === '/ready') {
      if (src.servers() > 0) return void res.end('ok');
      res.statusCode = 503;
      return void res.end('[-]server-connected failed: no servers connected\n');
    }
    if (path === '/metrics') {
      const p = 'konnectivity_network_proxy_agent';
      res.setHeader('Content-Type', 'text/plain; version=0.0.4');
      return void res.end(
        [
          `# TYPE ${p}_open_server_connections gauge`,
          `${p}_open_server_connections ${src.servers()}`,
          `# TYPE ${p}_known_server_count gauge`,
          `${p}_known_server_count ${src.serverCount()}`,
          `# TYPE ${p}_open_endpoint_connections gauge`,
          `${p}_open_endpoint_connections ${src.connections()}`,
          '',
        ].join('\n'),
      );
    }
    res.statusCode = 404;
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, ...(host ? { host } : {}) }, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}
