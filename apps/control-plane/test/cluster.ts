import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, type KubeletNode, type PodConfig } from '@spoke/app-node';
import type { Dialer } from '@spoke/transport-core';
import { createControlPlane, createDemoPki, type ControlPlane, type ControlPlaneOptions } from '../src/index.js';

/** A control plane, one node and a kubeconfig in a temp dir. */
export interface TestCluster {
  dir: string;
  node: KubeletNode;
  cp: ControlPlane;
  kubeconfig: string;
  logFile: string;
  /** Runs kubectl to completion. */
  kubectl(args: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Starts kubectl and leaves it running. */
  spawnKubectl(args: string[], extraEnv?: Record<string, string>): ChildProcess;
  close(): Promise<void>;
}

/** Builds the cluster; `egress` picks the control plane's `cluster` path. */
export async function startCluster(
  egress: (node: { host: string; port: number }) => Partial<ControlPlaneOptions> & { cleanup?: () => Promise<void> } = () => ({}),
  nodeDialer?: Dialer,
): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-cp-'));
  const logFile = join(dir, 'web.log');
  writeFileSync(logFile, 'line 1\nline 2\nline 3\n');
  const pki = createDemoPki({ nodes: [{ name: 'node-a', addresses: ['node-a', '127.0.0.1'] }] });
  const kubelet = pki.kubelets['node-a'];
  if (!kubelet) throw new Error('no kubelet cert');
  const pods: PodConfig[] = [
    { name: 'web', labels: { app: 'web' }, containers: [{ name: 'web', http: { body: 'hello through the tunnel\n' }, logFile }] },
    {
      name: 'tools',
      labels: { app: 'tools' },
      containers: [{ name: 'shell', command: ['/bin/sh', '-c', 'echo tools started; exec cat'], stdin: true }],
    },
  ];
  const node = await createNode(
    { name: 'node-a', tls: { cert: kubelet.cert, key: kubelet.key, clientCa: pki.ca.cert }, pods },
    { signal: AbortSignal.timeout(10_000) },
  );
  const extra = egress({ host: '127.0.0.1', port: node.port });
  const { cleanup, ...egressOptions } = extra;
  const cp = await createControlPlane(
    {
      tls: { cert: pki.controlPlane.cert, key: pki.controlPlane.key, clientCa: pki.ca.cert },
      nodes: [
        {
          name: 'node-a',
          addresses: [
            { type: 'Hostname', address: 'node-a' },
            { type: 'InternalIP', address: '127.0.0.1' },
          ],
          kubeletPort: node.port,
          ...(nodeDialer ? { dialer: nodeDialer } : {}),
        },
      ],
      services: [{ name: 'web', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }],
      kubeletCa: pki.ca.cert,
      kubeletClientCert: pki.kubeletClient.cert,
      kubeletClientKey: pki.kubeletClient.key,
      preferredAddressTypes: ['InternalIP', 'Hostname'],
      ...egressOptions,
    },
    { signal: AbortSignal.timeout(10_000) },
  );
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, cp.kubeconfig({ ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key }), { mode: 0o600 });
  const children = new Set<ChildProcess>();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig };

  const spawnKubectl = (args: string[], extraEnv: Record<string, string> = {}): ChildProcess => {
    const child = spawn('kubectl', args, { env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  const kubectl = (
    args: string[],
    opts: { stdin?: string; timeoutMs?: number } = {},
  ): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawnKubectl(args);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`kubectl ${args.join(' ')} timed out; stdout=${stdout} stderr=${stderr}`));
      }, opts.timeoutMs ?? 30_000);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin?.end(opts.stdin ?? '');
    });

  return {
    dir,
    node,
    cp,
    kubeconfig,
    logFile,
    kubectl,
    spawnKubectl,
    async close() {
      const exits = [...children].map(
        (c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))),
      );
      for (const c of children) c.kill('SIGKILL');
      await Promise.all(exits);
      await cp.close();
      await node.close();
      await cleanup?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
