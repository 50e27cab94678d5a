/**
 * `@spoke/app-control-plane`: an API-server-shaped sample control plane that
 * kubectl can use (discovery, nodes, pods, services, logs, exec, attach,
 * port-forward, node/pod/service proxy), reaching every node through an
 * `EgressSelectorConfiguration` with kubelet TLS verification.
 *
 * @example
 * ```ts
 * import { createControlPlane, createDemoPki } from '@spoke/app-control-plane';
 * const pki = createDemoPki({ nodes: [{ name: 'node-a', addresses: ['127.0.0.1'] }] });
 * const cp = await createControlPlane({
 *   tls: { cert: pki.controlPlane.cert, key: pki.controlPlane.key, clientCa: pki.ca.cert },
 *   nodes: [{ name: 'node-a', addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], kubeletPort: 10250 }],
 *   kubeletCa: pki.ca.cert, kubeletClientCert: pki.kubeletClient.cert, kubeletClientKey: pki.kubeletClient.key,
 * }, { signal: AbortSignal.timeout(5000) });
 * ```
 * @packageDocumentation
 */
export { createControlPlane } from './control-plane.js';
export type { ControlPlane } from './control-plane.js';
export type { ControlPlaneOptions, ControlPlaneNode, ControlPlaneService, ClusterEgressSelector } from './options.js';
export { createDemoPki } from './pki.js';
export type { DemoPki, DemoPkiNode } from './pki.js';
export { kubeconfigYaml, writeKubeconfig } from './kubeconfig.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export { EgressMetrics, DIAL_DURATION_BUCKETS } from './metrics.js';
export type { EgressLabels } from './metrics.js';
export { preferredAddress, DEFAULT_PREFERRED_ADDRESS_TYPES, NodeAccess } from './node-access.js';
export type { NodeAddress, KubeletTls } from './node-access.js';
export { splitSchemeNamePort } from './proxy-id.js';
export type { ProxyId } from './proxy-id.js';
export { SERVER_VERSION } from './api-objects.js';
