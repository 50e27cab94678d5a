import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoPki } from '@spoke/app-control-plane';
import { createKonnectivityFrontEnd } from '@spoke/dialer-konnectivity';
import type { Dialer } from '@spoke/transport-core';
import { KUBE_VERSION, clusterEgressYaml, kubeApiserverPath, startKubeCluster } from '@spoke/e2e/kube';
import type { DemoControlPlane, DemoNode } from './cluster.js';
import { NodeRoutes } from './node-routes.js';
import type { Teardown } from './teardown.js';

/** What to run when the binaries are missing. */
export function kubeApiserverMissing(): string | undefined {
  const missing: string[] = [];
  if (!existsSync(kubeApiserverPath())) missing.push(`kube-apiserver ${KUBE_VERSION}: npm run kube:build -w @spoke/e2e (once, ~5 min)`);
  if (!existsSync('/usr/bin/etcd')) missing.push('etcd: sudo apt-get install -y etcd-server');
  return missing.length > 0 ? `--kube-apiserver needs:\n  ${missing.join('\n  ')}` : undefined;
}

/**
 * The real kube-apiserver (built by @spoke/e2e) on etcd. It has one `cluster`
 * egress selection for all nodes, so the demo gives it HTTPConnect over a unix
 * socket to a front end whose dialer sends each node's address down that
 * node's own path. Nodes and pods are created through the API, at addresses
 * kube-apiserver accepts (it refuses loopback for the node proxy).
 */
export async function startKubeControlPlane(options: {
  dir: string;
  pki: DemoPki;
  routes: Array<{ node: DemoNode; address: string; dialer: Dialer }>;
  kubeconfigPath: string;
  teardown: Teardown;
  signal: AbortSignal;
}): Promise<DemoControlPlane> {
  const { teardown, signal } = options;
  const routes = new NodeRoutes(
    options.routes.map(({ node, address, dialer }) => ({
      address: `${address}:${node.kubelet.port}`,
      dialer,
      target: `127.0.0.1:${node.kubelet.port}`,
    })),
  );
  const udsName = join(options.dir, 'egress.socket');
  const frontEnd = await createKonnectivityFrontEnd({ dialer: routes, mode: 'http-connect', uds: udsName, signal });
  teardown.add('egress front end', () => frontEnd.close());
  const kube = await startKubeCluster({
    pki: options.pki,
    egressSelectorConfig: clusterEgressYaml({ proxyProtocol: 'HTTPConnect', transport: { uds: { udsName } } }),
  });
  teardown.add('kube-apiserver and etcd', () => kube.close());
  for (const { node, address } of options.routes) {
    // A node is registered Ready once its kubelet answers through its own path.
    const probe = await routes.dial(`${address}:${node.kubelet.port}`, { signal });
    probe.destroy();
    const container = node.kubelet.runtime.pods.get(`default/${node.pod}`)?.containers.get('web');
    const ports = (container?.ports ?? []).map((p) => ({ name: p.name ?? 'http', containerPort: p.containerPort }));
    await kube.registerNode(node.name, address, {
      kubeletPort: node.kubelet.port,
      pods: [{ name: node.pod, container: 'web', ports }],
    });
  }
  copyFileSync(kube.apiserver.kubeconfig, options.kubeconfigPath);
  return {
    url: kube.apiserver.url,
    description: `the real kube-apiserver ${KUBE_VERSION} on etcd; egress: HTTPConnect over UDS ${udsName} to spoke's front end, which routes each node's address down its path`,
    konnectivityVia: 'the egress front end, then GRPC over UDS to the Konnectivity server',
  };
}
