/**
 * The e2e harness: etcd + the real kube-apiserver, apps/node in a network
 * namespace, kubectl. Used by e2e/test and by deploy's server-side dry runs.
 */
export { startKubeCluster } from './cluster.js';
export type { ApiPod, KubeCluster, KubeClusterOptions, KubectlResult } from './cluster.js';
export { startNodeInNamespace, PODS, KUBELET_PORT, SPOKE, TS_NODE } from './node-in-namespace.js';
export type { NodeInNamespace } from './node-in-namespace.js';
export { KUBE_VERSION, ensureKubeApiserver, kubeApiserverPath } from './build-kube-apiserver.js';
export { clusterEgressYaml } from './egress-config.js';
export { writePemFiles } from './pem-files.js';
export { spawnOnHost, stopAll, waitForBody, waitReady } from './processes.js';
