import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDemoPki, type DemoPki } from '@spoke/app-control-plane';
import { createNode, type KubeletNode } from '@spoke/app-node';
import {
  createKonnectivityAgent,
  createKonnectivityDialer,
  createKonnectivityServer,
  konnectivityEgressBackend,
} from '@spoke/dialer-konnectivity';
import { createSshDialer, type SshDialer } from '@spoke/dialer-ssh';
import { connectTls, createNetDialer, type Dialer } from '@spoke/transport-core';
import { createAgent, createHub, createSpokeDialer } from '@spoke/hub';
import { startSshServer, type DemoSshServer } from './ssh-server.js';
import { startKubeControlPlane } from './kube-control-plane.js';
import { startSampleControlPlane, type NodePath } from './sample-control-plane.js';
import type { Teardown } from './teardown.js';

/** One demo node and the path the control plane reaches it by. */
export interface DemoNode {
  name: string;
  /** How the control plane reaches it, for the table (`direct TLS`, `SSH (OpenSSH sshd)`...). */
  path: string;
  /** Its one pod (`web-N`): an HTTP container whose log is a file. */
  pod: string;
  /** What the pod's HTTP server answers. */
  body: string;
  /** The last lines of the pod's log. */
  logTail: string;
  kubelet: KubeletNode;
}

/** A check outside the control plane: a path refusing what it must refuse. */
export interface PolicyCheck {
  path: string;
  check: string;
  expectCode: string;
  run(signal: AbortSignal): Promise<string>;
}

/** The API server the demo's kubectl talks to. */
export interface DemoControlPlane {
  url: string;
  /** One line for the paths summary. */
  description: string;
  /** How node-3's Konnectivity path reaches the server, for the paths summary. */
  konnectivityVia: string;
}

/** The running demo cluster. */
export interface DemoCluster {
  controlPlane: DemoControlPlane;
  pki: DemoPki;
  nodes: DemoNode[];
  ssh: DemoSshServer;
  kubeconfigPath: string;
  egressConfigPath: string;
  konnectivitySocket: string;
  hubUrl: string;
  policyChecks: PolicyCheck[];
}

const NAMES = ['node-1', 'node-2', 'node-3', 'node-4'] as const;
/** The nodes' InternalIPs for a real kube-apiserver: never dialled, only names the egress routes by (node-routes.ts). */
const NODE_ADDRESSES = ['10.255.0.1', '10.255.0.2', '10.255.0.3', '10.255.0.4'] as const;

/**
 * Starts the demo cluster on loopback: four kubelet-shaped nodes, a control
 * plane, and one path per node — node-1 direct verified TLS, node-2 an SSH
 * tunnel, node-3 Konnectivity (server + agent, the control plane dialling
 * through its `EgressSelectorConfiguration` GRPC/UDS selection, as
 * kube-apiserver does), node-4 a spoke hub + agent. Everything is registered
 * with `teardown`.
 */
export async function startDemoCluster(options: {
  dir: string;
  teardown: Teardown;
  sshMode: 'auto' | 'sshd' | 'embedded';
  /** `sample`: the kube-apiserver-shaped stand-in (starts in a second); `kube-apiserver`: the real one (see kube-control-plane.ts). */
  controlPlane?: 'sample' | 'kube-apiserver';
  note: (line: string) => void;
  signal: AbortSignal;
}): Promise<DemoCluster> {
  const { dir, teardown, signal } = options;
  // NODE_ADDRESSES: what a real kube-apiserver is told each node is at (it refuses loopback for the node proxy).
  const pki = createDemoPki({ nodes: NAMES.map((name, i) => ({ name, addresses: [name, '127.0.0.1', NODE_ADDRESSES[i] as string] })) });

  // The nodes: kubelet-shaped HTTPS servers that require the control plane's client certificate.
  const nodes: DemoNode[] = [];
  for (const [i, name] of NAMES.entries()) {
    const kubeletCert = pki.kubelets[name];
    if (!kubeletCert) throw new Error(`no kubelet certificate for ${name}`);
    const logFile = join(dir, `web-${i + 1}.log`);
    writeFileSync(logFile, `web-${i + 1} starting\nweb-${i + 1} listening on :http\nweb-${i + 1} ready on ${name}\n`);
    const body = `hello from web-${i + 1} on ${name}\n`;
    const kubelet = await createNode(
      {
        name,
        tls: { cert: kubeletCert.cert, key: kubeletCert.key, clientCa: pki.ca.cert },
        pods: [{ name: `web-${i + 1}`, labels: { app: 'web' }, containers: [{ name: 'web', http: { body }, logFile }] }],
      },
      { signal },
    );
    teardown.add(name, () => kubelet.close());
    nodes.push({
      name,
      path: '',
      pod: `web-${i + 1}`,
      body,
      logTail: `web-${i + 1} listening on :http\nweb-${i + 1} ready on ${name}\n`,
      kubelet,
    });
  }
  const [n1, n2, n3, n4] = nodes as [DemoNode, DemoNode, DemoNode, DemoNode];

  // node-1: direct TCP, then TLS verified against the cluster CA (--kubelet-certificate-authority).
  const direct = createNetDialer();
  n1.path = 'direct TLS';

  // node-2: one SSH connection carries every kubelet stream; the host key is pinned.
  let sshDialer: SshDialer | undefined;
  const ssh = await startSshServer({
    dir,
    teardown,
    mode: options.sshMode,
    kubeletPort: n2.kubelet.port,
    note: options.note,
    // One real dial to the kubelet proves the server lets us in; that dialer is then kept.
    async verify(server) {
      const dialer = createSshDialer({
        host: '127.0.0.1',
        port: server.port,
        username: server.username,
        privateKey: server.clientKey,
        hostKey: server.hostKey,
        readyTimeoutMs: 5_000,
      });
      try {
        const probe = await dialer.dial(`127.0.0.1:${n2.kubelet.port}`, { signal: AbortSignal.any([signal, AbortSignal.timeout(5_000)]) });
        probe.destroy();
        sshDialer = dialer;
      } catch (err) {
        dialer.destroy();
        throw err;
      }
    },
  });
  if (!sshDialer) throw new Error('the SSH server was not verified');
  const sshClient = sshDialer;
  teardown.add('ssh dialer', () => sshClient.close());
  n2.path = `SSH (${ssh.kind})`;

  // node-3: a Konnectivity server (gRPC front end on a unix socket, agent port with mTLS) and an agent that dials out to it.
  const konnectivitySocket = join(dir, 'konnectivity-server.socket');
  const serverCert = pki.ca.issue({ commonName: 'konnectivity-server', altNames: ['127.0.0.1', 'localhost'], usages: ['server'] });
  const agentCert = pki.ca.issue({ commonName: 'system:konnectivity-agent', usages: ['client'] });
  const konnectivity = await createKonnectivityServer({
    mode: 'grpc',
    udsName: konnectivitySocket,
    agentPort: 0,
    agentBindAddress: '127.0.0.1',
    healthPort: false,
    clusterCert: serverCert.cert,
    clusterKey: serverCert.key,
    clusterCaCert: pki.ca.cert,
  });
  teardown.add('konnectivity server', () => konnectivity.destroy());
  const konnectivityAgent = createKonnectivityAgent({
    proxyServerHost: '127.0.0.1',
    proxyServerPort: konnectivity.ports.agent,
    caCert: pki.ca.cert,
    agentCert: agentCert.cert,
    agentKey: agentCert.key,
    agentId: 'node-3',
    agentIdentifiers: 'host=node-3&ipv4=127.0.0.1',
    allow: [`127.0.0.1/32:${n3.kubelet.port}`],
  });
  teardown.add('konnectivity agent', () => konnectivityAgent.destroy());
  if (konnectivityAgent.servers().length === 0) await once(konnectivityAgent, 'server', { signal });
  const egressConfigPath = join(dir, 'egress-selector.yaml');
  writeFileSync(
    egressConfigPath,
    [
      'apiVersion: apiserver.k8s.io/v1beta1',
      'kind: EgressSelectorConfiguration',
      'egressSelections:',
      '- name: cluster',
      '  connection:',
      '    proxyProtocol: GRPC',
      '    transport:',
      '      uds:',
      `        udsName: ${konnectivitySocket}`,
      '',
    ].join('\n'),
  );
  n3.path = 'Konnectivity (gRPC/UDS)';

  // node-4: a spoke hub (control-plane side) and an agent (node side) that dials out to it over WSS with a pinned certificate.
  const agentToken = randomBytes(24).toString('base64url');
  const clientToken = randomBytes(24).toString('base64url');
  const hub = await createHub({ agentTokens: [agentToken], clientTokens: [clientToken] });
  teardown.add('spoke hub', () => hub.destroy());
  const fingerprint = hub.fingerprint as string;
  const spokeAgent = createAgent({
    hub: hub.url,
    id: 'node-4',
    identifiers: 'host=node-4&ipv4=127.0.0.1',
    allow: [`127.0.0.1/32:${n4.kubelet.port}`],
    token: agentToken,
    tls: { fingerprint },
  });
  teardown.add('spoke agent', () => spokeAgent.destroy());
  await spokeAgent.waitConnected(1, { signal });
  const spoke = createSpokeDialer({ url: hub.url, token: clientToken, tls: { fingerprint } });
  teardown.add('spoke client', () => spoke.close());
  n4.path = 'spoke hub + agent (WSS)';

  const konnectivityEgress = konnectivityEgressBackend({ proxyProtocol: 'GRPC', transport: { uds: { udsName: konnectivitySocket } } });
  teardown.add('konnectivity egress', () => konnectivityEgress.close());
  const paths: NodePath[] = [
    { node: n1, dialer: direct, labels: { protocol: 'direct', transport: 'tcp' }, egressLabel: 'direct' },
    { node: n2, dialer: sshClient, labels: { protocol: 'ssh', transport: 'tcp' }, egressLabel: 'ssh' },
    { node: n3, dialer: konnectivityEgress, egressLabel: 'konnectivity-grpc' },
    { node: n4, dialer: spoke, labels: { protocol: 'spoke', transport: 'tcp' }, egressLabel: 'spoke-hub' },
  ];
  const kubeconfigPath = join(dir, 'kubeconfig');
  const controlPlane =
    options.controlPlane === 'kube-apiserver'
      ? await startKubeControlPlane({
          dir,
          pki,
          teardown,
          kubeconfigPath,
          routes: paths.map((p, i) => ({ node: p.node, address: NODE_ADDRESSES[i] as string, dialer: p.dialer })),
          signal,
        })
      : await startSampleControlPlane({ pki, paths, egressConfigPath, teardown, kubeconfigPath, signal });

  return {
    controlPlane,
    pki,
    nodes,
    ssh,
    kubeconfigPath,
    egressConfigPath,
    konnectivitySocket,
    hubUrl: hub.url,
    policyChecks: policyChecks(pki, n1, direct, konnectivitySocket, spoke, teardown),
  };
}

function policyChecks(
  pki: DemoPki,
  n1: DemoNode,
  direct: Dialer,
  konnectivitySocket: string,
  spoke: Dialer,
  teardown: Teardown,
): PolicyCheck[] {
  const konnectivity = createKonnectivityDialer({ mode: 'grpc', uds: konnectivitySocket });
  teardown.add('konnectivity client', () => konnectivity.close());
  const wrongCa = createDemoPki().ca;
  const refused = async (dialer: Dialer, target: string, signal: AbortSignal): Promise<string> => {
    const s = await dialer.dial(target, { signal });
    s.destroy();
    return 'connected';
  };
  return [
    {
      path: 'node-1 direct TLS',
      check: 'kubelet cert vs a wrong CA',
      expectCode: 'ERR_CERT_UNTRUSTED',
      async run(signal) {
        const raw = await direct.dial(`127.0.0.1:${n1.kubelet.port}`, { signal });
        const tls = await connectTls(
          raw,
          { host: '127.0.0.1' },
          { ca: wrongCa.cert, cert: pki.kubeletClient.cert, key: pki.kubeletClient.key },
          signal,
        );
        tls.destroy();
        return 'verified';
      },
    },
    {
      path: 'node-3 Konnectivity agent',
      check: 'dial 127.0.0.1:22 (not allowed)',
      expectCode: 'ERR_DIAL_DENIED',
      run: (signal) => refused(konnectivity, '127.0.0.1:22', signal),
    },
    {
      path: 'node-4 spoke agent',
      check: 'dial 127.0.0.1:22 (not --allow)',
      expectCode: 'ERR_DIAL_DENIED',
      run: (signal) => refused(spoke, '127.0.0.1:22', signal),
    },
  ];
}
