import http from 'node:http';
import { formatListen, type ListenAddress } from './addresses.js';
import { listen } from './listen.js';

/** Readiness of a long-running command: `ok` decides 200 vs 503 on /readyz. */
export interface Readiness {
  ok: boolean;
  text: string;
}

/**
 * Serves `/metrics` (Prometheus text from `render`), `/healthz` and `/readyz`
 * on a plain-HTTP address of its own (`--metrics HOST:PORT`), so scraping
 * never shares a port with tunnel traffic. Resolves to the server and its URL.
 */
export async function startMetricsServer(
  address: ListenAddress,
  render: () => string,
  ready: () => Readiness = () => ({ ok: true, text: 'ok' }),
): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(`${render()}\n`);
    else if (path === '/healthz') res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    else if (path === '/readyz') {
      const state = ready();
      res.writeHead(state.ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${state.text}\n`);
    } else res.writeHead(404, { 'Content-Type': 'text/plain' }).end('try /metrics, /healthz or /readyz\n');
  });
  const bound = await listen(server, address);
  return { server, url: `http://${formatListen(bound)}/metrics` };
}
