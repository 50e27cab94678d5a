import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDemoPki, type DemoPki } from '@spoke/app-control-plane';
import { kubeApiserverPath } from './build-kube-apiserver.js';
import { startEtcd, type Etcd } from './etcd.js';
import { startKubeApiserver, type KubeApiserver } from './kube-apiserver.js';
import { PODS, KUBELET_PORT } from './node-in-namespace.js';

/** A pod created through the API: one container, as the node serves it. */
export interface ApiPod {
  name: string;
  container: string;
  stdin?: boolean;
  ports?: Array<{ name: string; containerPort: number }>;
}

const DEFAULT_PODS: ApiPod[] = [
  { name: 'web', container: PODS.web.container },
  { name: 'tools', container: PODS.tools.container, stdin: true },
];

/** What a kubectl run ended with. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** etcd + the real kube-apiserver, a kubeconfig, and kubectl against them. */
export interface KubeCluster {
  readonly dir: string;
  readonly pki: DemoPki;
  readonly apiserver: KubeApiserver;
  /** Environment for kubectl (KUBECONFIG, HOME in the cluster's dir). */
  readonly env: NodeJS.ProcessEnv;
  kubectl(args: string[], options?: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<KubectlResult>;
  /** Starts kubectl and leaves it running (stdin piped). */
  spawnKubectl(args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /**
   * A Node object at `address` (kubelet on `kubeletPort`, default 10250) marked Ready, and
   * `pods` (default those of {@link PODS}) bound to it and marked Running.
   */
  registerNode(name: string, address: string, options?: { kubeletPort?: number; pods?: ApiPod[] }): Promise<void>;
  /** The apiserver's Prometheus text. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export interface KubeClusterOptions {
  /** EgressSelectorConfiguration YAML; none: Direct. */
  egressSelectorConfig?: string;
  /** CA the apiserver trusts for kubelet serving certificates; default the cluster CA. */
  kubeletCa?: string;
  /** Reuse a PKI (the node's kubelet certificate must come from it). */
  pki?: DemoPki;
}

export async function startKubeCluster(options: KubeClusterOptions = {}): Promise<KubeCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'spoke-kube-'));
  const pki = options.pki ?? createDemoPki();
  let etcd: Etcd | undefined;
  let apiserver: KubeApiserver | undefined;
  try {
    etcd = await startEtcd(dir);
    apiserver = await startKubeApiserver({
      bin: kubeApiserverPath(),
      dir,
      etcdUrl: etcd.url,
      pki,
      ...(options.kubeletCa !== undefined ? { kubeletCa: options.kubeletCa } : {}),
      ...(options.egressSelectorConfig !== undefined ? { egressSelectorConfig: options.egressSelectorConfig } : {}),
    });
  } catch (err) {
    await apiserver?.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const api = apiserver;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: api.kubeconfig };
  const children = new Set<ChildProcess>();

  const kubectl: KubeCluster['kubectl'] = (args, o = {}) =>
    new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        args,
        { env: { ...env, ...o.env }, timeout: o.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (o.stdin !== undefined) child.stdin?.end(o.stdin);
      else child.stdin?.end();
    });

  const must = async (args: string[], stdin?: string): Promise<string> => {
    const r = await kubectl(args, stdin !== undefined ? { stdin } : {});
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };

  const registerNode: KubeCluster['registerNode'] = async (name, address, registration = {}) => {
    await must(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }));
    const now = new Date().toISOString();
    const nodeStatus = {
      status: {
        addresses: [{ type: 'InternalIP', address }],
        daemonEndpoints: { kubeletEndpoint: { Port: registration.kubeletPort ?? KUBELET_PORT } },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: now, lastTransitionTime: now }],
      },
    };
    await must(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(nodeStatus)]);
    for (const { name: pod, container, stdin = false, ports } of registration.pods ?? DEFAULT_PODS) {
      const spec = { nodeName: name, containers: [{ name: container, image: 'spoke/local', stdin, ...(ports ? { ports } : {}) }] };
      await must(
        ['create', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: 'default' }, spec }),
      );
      const podStatus = {
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [
            { name: container, ready: true, restartCount: 0, image: 'spoke/local', imageID: '', state: { running: { startedAt: now } } },
          ],
        },
      };
      await must(['patch', 'pod', pod, '--subresource=status', '--type=merge', '-p', JSON.stringify(podStatus)]);
    }
  };

  return {
    dir,
    pki,
    apiserver: api,
    env,
    kubectl,
    spawnKubectl(args, extraEnv = {}) {
      const child = spawn('kubectl', args, { env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    registerNode,
    async metrics() {
      const r = await api.get('/metrics');
      if (r.status !== 200) throw new Error(`GET /metrics: ${r.status}`);
      return r.body;
    },
    async close() {
      for (const child of children) child.kill('SIGKILL');
      await api.stop();
      await etcd?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
