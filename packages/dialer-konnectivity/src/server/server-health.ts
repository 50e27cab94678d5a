import { serveHealth } from '@spoke/transport-core/utils';
import { listenHealthPort, type HealthPort } from '../health-port.js';
import type { BackendManager } from './backends.js';
import type { KonnectivityServerOptions } from './server-options.js';

/** What the server's health and admin ports read. */
export interface ServerHealthSource {
  backends: BackendManager;
  metrics: () => string;
}

/**
 * `--health-port`: `/healthz`, `/readyz` (and `/ready`), `/metrics`.
 * Readiness is answered here rather than by serveHealth because upstream's
 * proxy-server answers "not ready" with 500 and a bare message, and probes
 * and scripts written against it may read either.
 */
export function listenServerHealth(options: KonnectivityServerOptions, src: ServerHealthSource): Promise<HealthPort | undefined> {
  if (options.healthPort === false) return Promise.resolve(undefined);
  return listenHealthPort(options.healthPort ?? 8092, options.healthBindAddress, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((path === '/readyz' || path === '/ready') && !src.backends.ready()) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('no connection to any proxy agent');
      return true;
    }
    return serveHealth(req, res, { metrics: src.metrics });
  });
}

/** `--admin-port` (off by default, on 127.0.0.1): `/metrics`; `/debug/pprof` is Go's and answers 404 saying so. */
export function listenServerAdmin(options: KonnectivityServerOptions, src: ServerHealthSource): Promise<HealthPort | undefined> {
  if (options.adminPort === undefined || options.adminPort === false) return Promise.resolve(undefined);
  return listenHealthPort(options.adminPort, options.adminBindAddress ?? '127.0.0.1', (req, res) => {
    if ((req.url ?? '/').startsWith('/debug/pprof')) {
      res
        .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('profiling is not available in this (Node.js) implementation\n');
      return true;
    }
    return serveHealth(req, res, { metrics: src.metrics });
  });
}
