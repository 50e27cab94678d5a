import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { createDemoPki, type DemoPki } from '@spoke/app-control-plane';
import type { EgressConnection } from '@spoke/transport-core/egress';
import { requireNetnsPrivileges } from '@spoke/transport-core/testing';
import {
  clusterEgressYaml,
  startKubeCluster,
  startNodeInNamespace,
  stopAll,
  type KubeCluster,
  type NodeInNamespace,
} from '../kube/index.js';
import { kubectlMatrix, type PathUnderTest } from './kubectl-matrix.js';

/** What one egress variant starts: its processes, and how kube-apiserver reaches them. */
export interface EgressVariant {
  name: string;
  /** kube-apiserver's labels for it in `apiserver_egress_dialer_*`. */
  labels: { protocol: 'grpc' | 'http_connect'; transport: 'uds' | 'tcp' };
  /** Starts the proxy side (host) and the agent (in the node's namespace); `dir` is the variant's own. */
  start(context: { node: NodeInNamespace; pki: DemoPki; dir: string; children: ChildProcess[] }): Promise<EgressConnection>;
}

/**
 * One node in a namespace for the file, then per variant: its processes, a
 * kube-apiserver whose `cluster` egress is that variant, a Node at the address
 * only the namespace reaches, and the kubectl matrix.
 */
export function describeEgressPaths(title: string, nodeName: string, variants: EgressVariant[]): void {
  describe(title, () => {
    const pki = createDemoPki();
    const dir = mkdtempSync(join(tmpdir(), 'spoke-e2e-'));
    let node: NodeInNamespace | undefined;

    beforeAll(async () => {
      requireNetnsPrivileges({ '/usr/bin/etcd': 'etcd-server' });
      node = await startNodeInNamespace({ dir, pki, name: nodeName });
    });

    afterAll(async () => {
      await node?.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const variant of variants) {
      describe(variant.name, () => {
        const children: ChildProcess[] = [];
        let cluster: KubeCluster | undefined;
        let path: PathUnderTest | undefined;

        beforeAll(async () => {
          if (!node) throw new Error('the node did not start');
          const connection = await variant.start({ node, pki, dir: mkdtempSync(join(dir, 'variant-')), children });
          cluster = await startKubeCluster({ pki, egressSelectorConfig: clusterEgressYaml(connection) });
          await cluster.registerNode(nodeName, node.tunnelIp);
          path = { cluster, node, nodeName, egress: variant.labels };
        });

        afterAll(async () => {
          await cluster?.close();
          await stopAll(children);
        });

        kubectlMatrix(() => {
          if (!path) throw new Error(`the ${variant.name} path did not start`);
          return path;
        });
      });
    }
  });
}
