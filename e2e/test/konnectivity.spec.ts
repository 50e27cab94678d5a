import { join } from 'node:path';
import { freeRegisteredPort, waitForOutput } from '@spoke/transport-core/testing';
import { KUBELET_PORT, SPOKE, spawnOnHost, waitReady, writePemFiles } from '../kube/index.js';
import { describeEgressPaths, type EgressVariant } from './egress-path.js';

/**
 * kube-apiserver → `spoke konnectivity server` → `spoke konnectivity agent` in
 * the node's namespace → the kubelet on an address only the namespace reaches.
 */
function konnectivity(name: string, mode: 'grpc' | 'http-connect', tcp: boolean): EgressVariant {
  return {
    name,
    labels: { protocol: mode === 'grpc' ? 'grpc' : 'http_connect', transport: tcp ? 'tcp' : 'uds' },
    async start({ node, pki, dir, children }) {
      const server = pki.ca.issue({ commonName: 'konnectivity-server', altNames: [node.hostIp, '127.0.0.1'], usages: ['server'] });
      const agent = pki.ca.issue({ commonName: 'system:konnectivity-agent', usages: ['client'] });
      const client = pki.ca.issue({ commonName: 'system:konnectivity-client', usages: ['client'] });
      const files = writePemFiles(dir, {
        'ca.crt': pki.ca.cert,
        'server.crt': server.cert,
        'server.key': server.key,
        'agent.crt': agent.cert,
        'agent.key': agent.key,
        'client.crt': client.cert,
        'client.key': client.key,
      });
      const uds = join(dir, 'konnectivity-server.socket');
      // Upstream's flag rules (which we keep) want ports in 1024-49151: no port 0.
      const [agentPort, healthPort, serverPort] = [
        await freeRegisteredPort(node.hostIp),
        await freeRegisteredPort(),
        await freeRegisteredPort(),
      ];
      const front = tcp
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
        `--mode=${mode}`,
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
      // The server is ready once an agent is connected.
      await waitReady(`http://127.0.0.1:${healthPort}/readyz`, agentProcess, 'the Konnectivity agent connecting');
      return tcp
        ? {
            proxyProtocol: 'HTTPConnect',
            transport: {
              tcp: {
                url: `https://127.0.0.1:${serverPort}`,
                tlsConfig: { caBundle: files['ca.crt'], clientCert: files['client.crt'], clientKey: files['client.key'] },
              },
            },
          }
        : { proxyProtocol: mode === 'grpc' ? 'GRPC' : 'HTTPConnect', transport: { uds: { udsName: uds } } };
    },
  };
}

describeEgressPaths('real kube-apiserver through spoke konnectivity server + agent', 'node-konnectivity', [
  konnectivity('GRPC over UDS', 'grpc', false),
  konnectivity('HTTPConnect over UDS', 'http-connect', false),
  konnectivity('HTTPConnect over mTLS TCP', 'http-connect', true),
]);
