import type { IncomingMessage, ServerResponse } from 'node:http';

/** What `/readyz` reports: `ok` decides 200 vs 503, `text` is the body. */
export interface Readiness {
  ok: boolean;
  text: string;
}

/** What a process's health endpoints serve. */
export interface HealthEndpoints {
  /** Readiness for `/readyz` (and its alias `/ready`); default always ready. */
  ready?: () => Readiness;
  /** Prometheus text for `/metrics`; without it `/metrics` is not served here. */
  metrics?: () => string;
}

/**
 * Answers `/healthz` (alive: 200 `ok`), `/readyz` and `/ready` (200 or 503
 * with the readiness text) and `/metrics` (Prometheus text format 0.0.4) the
 * same way in every long-running spoke process. Returns false for any other
 * path, for the caller to serve or refuse.
 */
export function serveHealth(req: IncomingMessage, res: ServerResponse, endpoints: HealthEndpoints): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz' || path === '/livez') {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok\n');
    return true;
  }
  if (path === '/readyz' || path === '/ready') {
    const state = endpoints.ready?.() ?? { ok: true, text: 'ok' };
    res.writeHead(state.ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${state.text}\n`);
    return true;
  }
  if (path === '/metrics' && endpoints.metrics) {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(endpoints.metrics());
    return true;
  }
  return false;
}
