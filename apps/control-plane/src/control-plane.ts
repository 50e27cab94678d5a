import { SpokeError, silentLogger } from '@spoke/transport-core';
import { EgressAccess } from './egress-access.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { EgressMetrics } from './metrics.js';
import type { ControlPlaneOptions } from './options.js';
import { ProxyTargets } from './proxy-targets.js';
import { ClusterResources } from './resources.js';
import { Routes } from './routes.js';
import { ControlPlaneServer } from './server.js';

/** A running control plane. */
export interface ControlPlane {
  readonly host: string;
  readonly port: number;
  /** `https://host:port`. */
  readonly url: string;
  readonly metrics: EgressMetrics;
  /** A kubeconfig (YAML) for this server: `ca` signed its serving cert, `cert`/`key` are the user's. */
  kubeconfig(user: { ca: string; cert: string; key: string; namespace?: string }): string;
  /** Stops accepting, ends streams and pooled connections. */
  close(): Promise<void>;
}

/**
 * Starts an API-server-shaped HTTPS server for kubectl: discovery, nodes,
 * pods and services (with Table output), `pods/log`, `pods/exec`,
 * `pods/attach`, `pods/portforward` and the `nodes|pods|services/proxy`
 * subresources. Every connection to a node goes through the egress
 * selector's `cluster` dialer (or the node's own), to the address the
 * preferred address types pick, with kubelet TLS verified against `kubeletCa`.
 * Upgrades are proxied as upgrades.
 *
 * @example
 * ```ts
 * const cp = await createControlPlane({ tls, nodes, kubeletCa, kubeletClientCert, kubeletClientKey }, { signal: AbortSignal.timeout(5000) });
 * writeFileSync('kubeconfig', cp.kubeconfig({ ca, cert: admin.cert, key: admin.key }));
 * ```
 */
export async function createControlPlane(options: ControlPlaneOptions, startOptions: { signal?: AbortSignal } = {}): Promise<ControlPlane> {
  const logger = (options.logger ?? silentLogger).child({ component: 'control-plane' });
  const metrics = new EgressMetrics();
  // Aborted by close(): ends proxied streams and kubelet calls in flight.
  const lifetime = new AbortController();
  const egress = new EgressAccess(options, metrics, lifetime.signal);
  const resources = new ClusterResources(options.nodes, options.services ?? [], egress, logger);
  const routes = new Routes(resources, new ProxyTargets(resources, egress), egress, metrics, lifetime.signal);
  const server = new ControlPlaneServer(options.tls, routes, logger);

  const address = await server.listen(options.host ?? '127.0.0.1', options.port ?? 0, startOptions.signal);
  const host = address.address;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  logger.info('control plane listening', { url });

  let closing: Promise<void> | undefined;
  return {
    host,
    port: address.port,
    url,
    metrics,
    kubeconfig: (user) =>
      kubeconfigYaml({
        server: url,
        ca: user.ca,
        cert: user.cert,
        key: user.key,
        ...(user.namespace ? { namespace: user.namespace } : {}),
      }),
    close() {
      closing ??= (async () => {
        lifetime.abort(new SpokeError('ERR_DIALER_CLOSED', 'The control plane is shutting down.'));
        await server.close();
        await egress.close();
      })();
      return closing;
    },
  };
}
