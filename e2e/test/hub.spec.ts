import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { EgressConnection } from '@spoke/transport-core/egress';
import { freeRegisteredPort, waitForOutput } from '@spoke/transport-core/testing';
import { KUBELET_PORT, SPOKE, spawnOnHost, waitForBody, writePemFiles } from '../kube/index.js';
import { describeEgressPaths, type EgressVariant } from './egress-path.js';

type HubFront = 'connect-uds' | 'connect-mtls' | 'konnectivity-uds';

/**
 * kube-apiserver → `spoke hub` (its CONNECT front end on a unix socket or over
 * TLS with client certificates, or its Konnectivity gRPC front end) → `spoke
 * agent` in the node's namespace (WSS, token bound to its id, routed by its
 * ipv4 identifier) → the kubelet on an address only the namespace reaches.
 */
function hub(name: string, front: HubFront): EgressVariant {
  return {
    name,
    labels: { protocol: front === 'konnectivity-uds' ? 'grpc' : 'http_connect', transport: front === 'connect-mtls' ? 'tcp' : 'uds' },
    async start({ node, pki, dir, children }) {
      const serving = pki.ca.issue({ commonName: 'spoke-hub', altNames: [node.hostIp, '127.0.0.1'], usages: ['server'] });
      const client = pki.ca.issue({ commonName: 'kube-apiserver-egress', usages: ['client'] });
      const agentToken = randomBytes(24).toString('base64url');
      const files = writePemFiles(dir, {
        'ca.crt': pki.ca.cert,
        'hub.crt': serving.cert,
        'hub.key': serving.key,
        'client.crt': client.cert,
        'client.key': client.key,
        'agent-tokens': `node-hub ${agentToken}\n`,
        'agent.token': `${agentToken}\n`,
        'client-tokens': `${randomBytes(24).toString('base64url')}\n`,
      });
      const socket = join(dir, 'hub-egress.socket');
      const [connectPort, metricsPort] = [await freeRegisteredPort(), await freeRegisteredPort()];
      const frontFlags = {
        'connect-uds': [`--connect=unix:${socket}`],
        'connect-mtls': [`--connect=127.0.0.1:${connectPort}`, `--connect-client-ca=${files['ca.crt']}`],
        'konnectivity-uds': [`--konnectivity-uds=${socket}`],
      }[front];
      const hubProcess = spawnOnHost([
        ...SPOKE,
        'hub',
        `--listen=${node.hostIp}:0`,
        `--tls-cert=${files['hub.crt']}`,
        `--tls-key=${files['hub.key']}`,
        `--agent-token-file=${files['agent-tokens']}`,
        `--client-token-file=${files['client-tokens']}`,
        `--metrics=127.0.0.1:${metricsPort}`,
        ...frontFlags,
      ]);
      children.push(hubProcess);
      const url = await waitForOutput(hubProcess, /wss:\/\/[\d.]+:\d+/, 'spoke hub');
      const agentProcess = node.ns.spawn([
        ...SPOKE,
        'agent',
        `--hub=${url}`,
        '--id=node-hub',
        `--identifiers=ipv4=${node.tunnelIp}`,
        `--allow=${node.tunnelIp}/32:${KUBELET_PORT}`,
        `--token-file=${files['agent.token']}`,
        `--ca=${files['ca.crt']}`,
      ]);
      children.push(agentProcess);
      await waitForBody(`http://127.0.0.1:${metricsPort}/metrics`, /^spoke_hub_agents 1$/m, agentProcess, 'the spoke agent connecting');
      const connections: Record<HubFront, EgressConnection> = {
        'connect-uds': { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: socket } } },
        'connect-mtls': {
          proxyProtocol: 'HTTPConnect',
          transport: {
            tcp: {
              url: `https://127.0.0.1:${connectPort}`,
              tlsConfig: { caBundle: files['ca.crt'], clientCert: files['client.crt'], clientKey: files['client.key'] },
            },
          },
        },
        'konnectivity-uds': { proxyProtocol: 'GRPC', transport: { uds: { udsName: socket } } },
      };
      return connections[front];
    },
  };
}

describeEgressPaths('real kube-apiserver through spoke hub + agent', 'node-hub', [
  hub('HTTPConnect over UDS (--connect unix:)', 'connect-uds'),
  hub('HTTPConnect over mTLS TCP (--connect with --connect-client-ca)', 'connect-mtls'),
  hub('GRPC over UDS (--konnectivity-uds)', 'konnectivity-uds'),
]);
