import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentRegistry } from './agent-registry.js';
import type { HubMetrics } from './hub-metrics.js';

/**
 * The hub's plain HTTP requests: `/healthz` (the process serves), `/readyz`
 * (at least one agent is connected, so dials can succeed) and `/metrics`.
 */
export function createHubRequestHandler(registry: AgentRegistry, metrics: HubMetrics): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = registry.size > 0;
      res
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? `ok: ${registry.size} agent(s)\n` : 'no agent connected\n');
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('spoke hub: agents connect to /v1/agent, clients to /v1/client\n');
    }
  };
}
