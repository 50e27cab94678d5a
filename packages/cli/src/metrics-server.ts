import http from 'node:http';
import { serveHealth, type Readiness } from '@spoke/transport-core/utils';
import { formatListen, type ListenAddress } from './addresses.js';
import { listen } from './listen.js';

/**
 * Serves `/metrics` (Prometheus text from `render`), `/healthz` and `/readyz`
 * on a plain-HTTP address of its own (`--metrics HOST:PORT`), so scraping
 * never shares a port with tunnel traffic. Resolves to the server and its URL.
 */
export async function startMetricsServer(
  address: ListenAddress,
  render: () => string,
  ready?: () => Readiness,
): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    if (serveHealth(req, res, { metrics: render, ...(ready ? { ready } : {}) })) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('try /metrics, /healthz or /readyz\n');
  });
  const bound = await listen(server, address);
  return { server, url: `http://${formatListen(bound)}/metrics` };
}
