import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { createDemoPki } from '@spoke/app-control-plane';
import type { EgressConnection } from '@spoke/transport-core/egress';
import { requireNetnsPrivileges, waitForOutput } from '@spoke/transport-core/testing';
import {
  KUBELET_PORT,
  SPOKE,
  clusterEgressYaml,
  freeRegisteredPort,
  startKubeCluster,
  startNodeInNamespace,
  spawnOnHost,
  stopAll,
  waitReady,
  writePemFiles,
  type KubeCluster,
  type NodeInNamespace,
} from '../kube/index.js';
import { kubectlMatrix, type PathUnderTest } from './kubectl-matrix.js';

/**
 * kube-apiserver → our Konnectivity server (`spoke konnectivity server`) →
 * our Konnectivity agent in the node's namespace → the kubelet on an address
 * only the namespace can reach. One kube-apiserver per front end.
 */
describe('real kube-apiserver through spoke konnectivity server + agent', () => {
  const pki = createDemoPki();
  const dir = mkdtempSync(join(tmpdir(), 'spoke-e2e-konn-'));
  let node: NodeInNamespace | undefined;

  beforeAll(async () => {
    requireNetnsPrivileges({ '/usr/bin/etcd': 'etcd-server' });
    node = await startNodeInNamespace({ dir, pki, name: 'node-konnectivity' });
  });

  afterAll(async () => {
    await node?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const variants: Array<{ name: string; mode: 'grpc' | 'http-connect'; tcp: boolean; protocol: string; transport: string }> = [
    { name: 'GRPC over UDS', mode: 'grpc', tcp: false, protocol: 'grpc', transport: 'uds' },
    { name: 'HTTPConnect over UDS', mode: 'http-connect', tcp: false, protocol: 'http_connect', transport: 'uds' },
    { name: 'HTTPConnect over mTLS TCP', mode: 'http-connect', tcp: true, protocol: 'http_connect', transport: 'tcp' },
  ];

  for (const variant of variants) {
    describe(variant.name, () => {
      const children: ChildProcess[] = [];
      let cluster: KubeCluster | undefined;
      let path: PathUnderTest | undefined;

      beforeAll(async () => {
        if (!node) throw new Error('the node did not start');
        const sub = mkdtempSync(join(dir, 'variant-'));
        const server = pki.ca.issue({ commonName: 'konnectivity-server', altNames: [node.hostIp, '127.0.0.1'], usages: ['server'] });
        const agent = pki.ca.issue({ commonName: 'system:konnectivity-agent', usages: ['client'] });
        const apiserverClient = pki.ca.issue({ commonName: 'system:konnectivity-client', usages: ['client'] });
        const files = writePemFiles(sub, {
          'ca.crt': pki.ca.cert,
          'server.crt': server.cert,
          'server.key': server.key,
          'agent.crt': agent.cert,
          'agent.key': agent.key,
          'apiserver-client.crt': apiserverClient.cert,
          'apiserver-client.key': apiserverClient.key,
        });
        const uds = join(sub, 'konnectivity-server.socket');
        const [agentPort, healthPort, serverPort] = [
          await freeRegisteredPort(node.hostIp),
          await freeRegisteredPort(),
          await freeRegisteredPort(),
        ];
        const front = variant.tcp
          ? [
              `--server-port=${serverPort}`,
              '--server-bind-address=127.0.0.1',
              `--server-cert=${files['server.crt']}`,
              `--server-key=${files['server.key']}`,
              `--server-ca-cert=${files['ca.crt']}`,
            ]
          : [`--uds-name=${uds}`, '--server-port=0'];
        const serverProcess = spawnOnHost([
          ...SPOKE,
          'konnectivity',
          'server',
          `--mode=${variant.mode}`,
          ...front,
          `--agent-port=${agentPort}`,
          `--agent-bind-address=${node.hostIp}`,
          `--cluster-cert=${files['server.crt']}`,
          `--cluster-key=${files['server.key']}`,
          `--cluster-ca-cert=${files['ca.crt']}`,
          `--health-port=${healthPort}`,
          '--health-bind-address=127.0.0.1',
        ]);
        children.push(serverProcess);
        await waitForOutput(serverProcess, /mode=\S+ front=\S+ agents=/, 'spoke konnectivity server');
        const agentProcess = node.ns.spawn([
          ...SPOKE,
          'konnectivity',
          'agent',
          `--proxy-server-host=${node.hostIp}`,
          `--proxy-server-port=${agentPort}`,
          `--ca-cert=${files['ca.crt']}`,
          `--agent-cert=${files['agent.crt']}`,
          `--agent-key=${files['agent.key']}`,
          '--agent-id=node-konnectivity',
          `--allow=${node.tunnelIp}/32:${KUBELET_PORT}`,
        ]);
        children.push(agentProcess);
        await waitReady(`http://127.0.0.1:${healthPort}/readyz`, agentProcess, 'the Konnectivity agent connecting');
        const connection: EgressConnection = variant.tcp
          ? {
              proxyProtocol: 'HTTPConnect',
              transport: {
                tcp: {
                  url: `https://127.0.0.1:${serverPort}`,
                  tlsConfig: {
                    caBundle: files['ca.crt'],
                    clientCert: files['apiserver-client.crt'],
                    clientKey: files['apiserver-client.key'],
                  },
                },
              },
            }
          : { proxyProtocol: variant.mode === 'grpc' ? 'GRPC' : 'HTTPConnect', transport: { uds: { udsName: uds } } };
        cluster = await startKubeCluster({ pki, egressSelectorConfig: clusterEgressYaml(connection) });
        await cluster.registerNode('node-konnectivity', node.tunnelIp);
        path = { cluster, node, nodeName: 'node-konnectivity', egress: { protocol: variant.protocol, transport: variant.transport } };
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
