import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKonnectivityServer, konnectivityEgressBackend, type KonnectivityServer } from '@spoke/dialer-konnectivity';
import { createSshDialer } from '@spoke/dialer-ssh';
import { startSshd, type Sshd } from '@spoke/dialer-ssh/testing';
import { IP, createNetns, netnsExists, requireNetnsPrivileges, waitForOutput, type TestNetns } from '@spoke/transport-core/testing';
import { createNetDialer, type Dialer } from '@spoke/transport-core';
import { createHub, createSpokeDialer, type Hub } from '@spoke/hub';
import {
  createControlPlane,
  createDemoPki,
  type ControlPlane,
  type ControlPlaneNode,
  type EgressLabels,
  type NodeAddress,
} from '../src/index.js';
import type { NetnsAgentConfig } from './netns-agent.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');
const tsNode = [process.execPath, '--conditions=@spoke/source', '--import', join(root, 'scripts', 'ts-register.mjs')];
const KUBELET_PORT = 10250; // the namespace has its own port space

/**
 * A node in its own network namespace: its kubelet listens on the namespace's
 * 127.0.0.1 only, so the control plane on the host cannot reach it directly.
 * The namespace does have an sshd on its veth address, and a Konnectivity
 * agent and a spoke agent that dial out to servers on the host end.
 */
describe('a node in its own network namespace (needs root)', () => {
  let ns: TestNetns | undefined;
  let dir: string;
  let cp: ControlPlane | undefined;
  let hub: Hub | undefined;
  let konnectivity: KonnectivityServer | undefined;
  let sshd: Sshd | undefined;
  const dialers: Dialer[] = [];
  let env: Record<string, string>;

  const kubectl = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    run('kubectl', args, { env, timeout: 30_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );

  const cleanup = async (): Promise<void> => {
    await cp?.close();
    await Promise.all(dialers.splice(0).map((d) => d.close()));
    hub?.destroy();
    konnectivity?.destroy();
    await sshd?.cleanup();
    await ns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };

  beforeAll(async () => {
    requireNetnsPrivileges({ '/usr/sbin/sshd': 'openssh-server' });
    dir = mkdtempSync(join(tmpdir(), 'spoke-netns-'));
    ns = await createNetns();
    const { hostIp, nsIp } = ns;

    // PKI: the kubelet's certificate covers its loopback (dialled from inside) and its veth address (the Direct attempt).
    const pki = createDemoPki({ nodes: [{ name: 'node-ns', addresses: ['node-ns', '127.0.0.1', nsIp] }] });
    const kubelet = pki.kubelets['node-ns'];
    if (!kubelet) throw new Error('no kubelet certificate');
    for (const [file, pem] of [
      ['kubelet.crt', kubelet.cert],
      ['kubelet.key', kubelet.key],
      ['ca.crt', pki.ca.cert],
    ] as const)
      writeFileSync(join(dir, file), pem, { mode: 0o600 });
    writeFileSync(join(dir, 'web.log'), 'netns line 1\nnetns line 2\n');
    writeFileSync(
      join(dir, 'node.yaml'),
      [
        'name: node-ns',
        'host: 127.0.0.1',
        `port: ${KUBELET_PORT}`,
        'tls: { certFile: kubelet.crt, keyFile: kubelet.key, clientCaFile: ca.crt }',
        'pods:',
        '  - name: web',
        '    containers:',
        '      - name: web',
        '        http: { body: "hello from the namespace\\n" }',
        '        logFile: web.log',
        '',
      ].join('\n'),
    );

    // sshd on the namespace's veth address, forwarding only to the kubelet; started before the other children, so a failure here leaves no start-up promise unawaited.
    sshd = await startSshd({
      host: nsIp,
      port: 22,
      config: [`PermitOpen 127.0.0.1:${KUBELET_PORT}`],
      commandPrefix: [IP, 'netns', 'exec', ns.name],
    });

    // The kubelet-shaped node, inside the namespace, on its loopback only.
    const node = ns.spawn([...tsNode, join(root, 'apps', 'node', 'src', 'main.ts'), join(dir, 'node.yaml')]);
    const nodeUp = waitForOutput(node, /serving the kubelet API on https:\/\/127\.0\.0\.1:10250/, 'the node in the namespace');

    // Host side: a Konnectivity server (gRPC front end on a unix socket; agent port on the veth) and a spoke hub on the veth.
    const serverCert = pki.ca.issue({ commonName: 'konnectivity-server', altNames: [hostIp], usages: ['server'] });
    const agentCert = pki.ca.issue({ commonName: 'system:konnectivity-agent', usages: ['client'] });
    const udsName = join(dir, 'konnectivity-server.socket');
    konnectivity = await createKonnectivityServer({
      mode: 'grpc',
      udsName,
      agentPort: 0,
      agentBindAddress: hostIp,
      healthPort: false,
      clusterCert: serverCert.cert,
      clusterKey: serverCert.key,
      clusterCaCert: pki.ca.cert,
    });
    const agentToken = randomBytes(24).toString('base64url');
    const clientToken = randomBytes(24).toString('base64url');
    hub = await createHub({ listen: { host: hostIp, port: 0 }, agentTokens: [agentToken], clientTokens: [clientToken] });
    const fingerprint = hub.fingerprint as string;

    // Node side: both agents dial OUT from the namespace to the host end.
    const allow = [`127.0.0.1/32:${KUBELET_PORT}`];
    const agentConfigs: NetnsAgentConfig[] = [
      {
        kind: 'konnectivity',
        id: 'node-ns',
        allow,
        konnectivity: { host: hostIp, port: konnectivity.ports.agent, ca: pki.ca.cert, cert: agentCert.cert, key: agentCert.key },
      },
      { kind: 'spoke', id: 'node-ns', allow, spoke: { url: hub.url, fingerprint, token: agentToken } },
    ];
    const agentsUp = agentConfigs.map((config) => {
      const file = join(dir, `${config.kind}-agent.json`);
      writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
      const agent = (ns as TestNetns).spawn([...tsNode, join(import.meta.dirname, 'netns-agent.ts'), file]);
      return waitForOutput(agent, /^connected$/m, `the ${config.kind} agent in the namespace`);
    });
    await Promise.all([nodeUp, ...agentsUp]);

    // The control plane on the host's loopback: one node entry per path, all the same kubelet.
    const ssh = createSshDialer({
      host: nsIp,
      port: 22,
      username: 'root',
      privateKeyFile: sshd.clientKeyFile,
      knownHostsFile: sshd.knownHostsFile,
    });
    const spoke = createSpokeDialer({ url: hub.url, token: clientToken, tls: { fingerprint } });
    const konnectivityDialer = konnectivityEgressBackend({ proxyProtocol: 'GRPC', transport: { uds: { udsName } } });
    dialers.push(ssh, spoke, konnectivityDialer);
    const loopback: NodeAddress[] = [{ type: 'InternalIP', address: '127.0.0.1' }];
    // Every tunnelled node is "127.0.0.1" from its own network; only its dialer tells them apart.
    const tunnelled = (name: string, dialer: Dialer, dialerLabels: EgressLabels): ControlPlaneNode => ({
      name,
      addresses: loopback,
      kubeletPort: KUBELET_PORT,
      dialer,
      dialerLabels,
    });
    cp = await createControlPlane(
      {
        tls: { cert: pki.controlPlane.cert, key: pki.controlPlane.key, clientCa: pki.ca.cert },
        nodes: [
          // Direct: the node's own address; its kubelet is not listening there.
          {
            name: 'node-direct',
            addresses: [{ type: 'InternalIP', address: nsIp }],
            kubeletPort: KUBELET_PORT,
            dialer: createNetDialer(),
            dialerLabels: { protocol: 'direct', transport: 'tcp' },
          },
          tunnelled('node-ssh', ssh, { protocol: 'ssh', transport: 'tcp' }),
          tunnelled('node-konnectivity', konnectivityDialer, { protocol: 'grpc', transport: 'uds' }),
          tunnelled('node-spoke', spoke, { protocol: 'spoke', transport: 'tcp' }),
        ],
        kubeletCa: pki.ca.cert,
        kubeletClientCert: pki.kubeletClient.cert,
        kubeletClientKey: pki.kubeletClient.key,
        preferredAddressTypes: ['InternalIP'],
      },
      { signal: AbortSignal.timeout(10_000) },
    );
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, cp.kubeconfig({ ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key }), { mode: 0o600 });
    env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig };
  }, 90_000);

  afterAll(cleanup, 30_000);

  it('the host really cannot reach the kubelet: nothing listens on the node address', async () => {
    await expect(createNetDialer().dial(`${ns?.nsIp}:${KUBELET_PORT}`, { signal: AbortSignal.timeout(5_000) })).rejects.toMatchObject({
      code: 'ERR_DIAL_REFUSED',
    });
  });

  it('kubectl get nodes: Direct is NotReady, SSH, Konnectivity and spoke are Ready', async () => {
    const r = await kubectl(['get', 'nodes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/node-direct\s+NotReady/);
    for (const n of ['node-ssh', 'node-konnectivity', 'node-spoke']) expect(r.stdout).toMatch(new RegExp(`${n}\\s+Ready`));
  });

  it('the Direct path fails with a clear coded error', async () => {
    const r = await kubectl(['get', '--raw', '/api/v1/nodes/node-direct/proxy/healthz']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error dialing backend: .*ERR_DIAL_REFUSED/);
  });

  it.each(['node-ssh', 'node-konnectivity', 'node-spoke'])(
    '%s reaches the kubelet inside the namespace: node proxy /healthz and container logs',
    async (name) => {
      const healthz = await kubectl(['get', '--raw', `/api/v1/nodes/${name}/proxy/healthz`]);
      expect(healthz.code, healthz.stderr).toBe(0);
      expect(healthz.stdout.trim()).toBe('ok');
      const logs = await kubectl(['get', '--raw', `/api/v1/nodes/${name}/proxy/containerLogs/default/web/web?tailLines=1`]);
      expect(logs.code, logs.stderr).toBe(0);
      expect(logs.stdout).toBe('netns line 2\n');
    },
  );

  it('the egress metrics show the failed Direct dials and the successful tunnel dials', async () => {
    const r = await kubectl(['get', '--raw', '/metrics']);
    expect(r.stdout).toMatch(/apiserver_egress_dialer_dial_failure_count\{protocol="direct",stage="connect",transport="tcp"\} [1-9]/);
    for (const labels of ['protocol="ssh",transport="tcp"', 'protocol="grpc",transport="uds"', 'protocol="spoke",transport="tcp"']) {
      expect(r.stdout).toMatch(new RegExp(`apiserver_egress_dialer_dial_duration_seconds_count\\{${labels}\\} [1-9]`));
    }
  });

  it('cleans up: processes stopped, namespace and veth gone', async () => {
    const name = ns?.name as string;
    await cleanup();
    expect(await netnsExists(name)).toBe(false);
    const links = await run('/usr/sbin/ip', ['-o', 'link', 'show']);
    expect(links.stdout).not.toContain(`sph${name.slice('spoke-t-'.length)}`);
  }, 30_000);
});
