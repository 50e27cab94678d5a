import { writeFileSync } from 'node:fs';
import { createControlPlane, type ControlPlaneNode, type DemoPki, type EgressLabels } from '@spoke/app-control-plane';
import { konnectivityEgressBackend } from '@spoke/dialer-konnectivity';
import type { Dialer } from '@spoke/transport-core';
import type { DemoControlPlane, DemoNode } from './cluster.js';
import type { Teardown } from './teardown.js';

/** How the control plane reaches one node. */
export interface NodePath {
  node: DemoNode;
  dialer: Dialer;
  /** The node's own dialer's metric labels; absent: the node goes through the egress selector's `cluster` selection. */
  labels?: EgressLabels;
  egressLabel: string;
}

/**
 * The kube-apiserver-shaped stand-in (apps/control-plane): it can give each
 * node its own dialer, and sends node-3 through its EgressSelectorConfiguration
 * (GRPC over UDS to the Konnectivity server), as kube-apiserver does.
 */
export async function startSampleControlPlane(options: {
  pki: DemoPki;
  paths: NodePath[];
  egressConfigPath: string;
  kubeconfigPath: string;
  teardown: Teardown;
  signal: AbortSignal;
}): Promise<DemoControlPlane> {
  const { pki, teardown } = options;
  const addresses = (name: string): ControlPlaneNode['addresses'] => [
    { type: 'Hostname', address: name },
    { type: 'InternalIP', address: '127.0.0.1' },
  ];
  const cp = await createControlPlane(
    {
      tls: { cert: pki.controlPlane.cert, key: pki.controlPlane.key, clientCa: pki.ca.cert },
      nodes: options.paths.map(({ node, dialer, labels, egressLabel }) => ({
        name: node.name,
        addresses: addresses(node.name),
        kubeletPort: node.kubelet.port,
        ...(labels ? { dialer, dialerLabels: labels } : {}),
        egressLabel,
      })),
      egressConfig: options.egressConfigPath,
      egressBackends: { grpc: (selection) => konnectivityEgressBackend(selection.connection) },
      kubeletCa: pki.ca.cert,
      kubeletClientCert: pki.kubeletClient.cert,
      kubeletClientKey: pki.kubeletClient.key,
      preferredAddressTypes: ['InternalIP', 'Hostname'],
    },
    { signal: options.signal },
  );
  teardown.add('control plane', () => cp.close());
  writeFileSync(options.kubeconfigPath, cp.kubeconfig({ ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key }), { mode: 0o600 });
  return {
    url: cp.url,
    description: 'the sample control plane (kube-apiserver-shaped; kubelet TLS verified against the cluster CA)',
    konnectivityVia: `its EgressSelectorConfiguration, GRPC over UDS ${options.egressConfigPath}`,
  };
}
