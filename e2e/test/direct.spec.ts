import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { requireNetnsPrivileges } from '@spoke/transport-core/testing';
import { createDemoPki } from '@spoke/app-control-plane';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeCluster, startNodeInNamespace, type KubeCluster, type NodeInNamespace } from '../kube/index.js';
import { kubectlMatrix, type PathUnderTest } from './kubectl-matrix.js';

/**
 * Direct: no egress selector, kube-apiserver dials the kubelet's address and
 * verifies its serving certificate with --kubelet-certificate-authority.
 */
describe('real kube-apiserver, Direct egress (--kubelet-certificate-authority)', () => {
  const pki = createDemoPki();
  const dir = mkdtempSync(join(tmpdir(), 'spoke-e2e-direct-'));
  let node: NodeInNamespace | undefined;
  let cluster: KubeCluster | undefined;
  let path: PathUnderTest | undefined;

  beforeAll(async () => {
    requireNetnsPrivileges({ '/usr/bin/etcd': 'etcd-server' });
    node = await startNodeInNamespace({ dir, pki, name: 'node-direct' });
    cluster = await startKubeCluster({ pki });
    await cluster.registerNode('node-direct', node.nsIp);
    path = { cluster, node, nodeName: 'node-direct' };
  });

  afterAll(async () => {
    await cluster?.close();
    await node?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  kubectlMatrix(() => {
    if (!path) throw new Error('the Direct path did not start');
    return path;
  });

  it('refuses a kubelet whose serving certificate comes from another CA', async () => {
    if (!node) throw new Error('no node');
    const other = createCertificateAuthority({ commonName: 'some-other-ca' });
    const strict = await startKubeCluster({ pki, kubeletCa: other.cert });
    try {
      await strict.registerNode('node-direct', node.nsIp);
      const r = await strict.kubectl(['logs', 'web']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/x509: certificate signed by unknown authority|tls: failed to verify certificate/);
      expect(r.stdout).toBe('');
    } finally {
      await strict.close();
    }
  });
});
