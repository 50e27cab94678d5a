import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { writeKubeconfig, type DemoPki } from '@spoke/app-control-plane';
import { freePort } from '@spoke/transport-core/testing';
import { OutputTail, pollUntil, stopChild } from './processes.js';

/** A running kube-apiserver and the files a client needs for it. */
export interface KubeApiserver {
  readonly url: string;
  /** kubeconfig for an admin (system:masters) client certificate. */
  readonly kubeconfig: string;
  /** GETs `path` as the admin; resolves with the status and body. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** The recent output, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface KubeApiserverOptions {
  /** The binary (see build-kube-apiserver.ts). */
  bin: string;
  /** Where its certificates, keys, kubeconfig and config files go. */
  dir: string;
  etcdUrl: string;
  pki: DemoPki;
  /** The CA that signs kubelet serving certificates (`--kubelet-certificate-authority`). Default the PKI's CA. */
  kubeletCa?: string;
  /** An EgressSelectorConfiguration (YAML) for `--egress-selector-config-file`; none: Direct. */
  egressSelectorConfig?: string;
  /** Separates the etcd keys of servers sharing one etcd. Default `/registry`. */
  etcdPrefix?: string;
}

/** Files written once per directory: PEMs and the service-account key pair. */
function writeFiles(options: KubeApiserverOptions): Record<string, string> {
  const { dir, pki } = options;
  const sa = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const files: Record<string, string> = {
    ca: pki.ca.cert,
    kubeletCa: options.kubeletCa ?? pki.ca.cert,
    servingCert: pki.controlPlane.cert,
    servingKey: pki.controlPlane.key,
    kubeletClientCert: pki.kubeletClient.cert,
    kubeletClientKey: pki.kubeletClient.key,
    adminCert: pki.admin.cert,
    adminKey: pki.admin.key,
    saPub: sa.publicKey,
    saKey: sa.privateKey,
    ...(options.egressSelectorConfig !== undefined ? { egress: options.egressSelectorConfig } : {}),
  };
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    paths[name] = join(dir, `apiserver-${name}.pem`);
    writeFileSync(paths[name], content, { mode: 0o600 });
  }
  return paths;
}

/** Starts kube-apiserver on a loopback port and waits for /readyz. */
export async function startKubeApiserver(options: KubeApiserverOptions): Promise<KubeApiserver> {
  const files = writeFiles(options);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const args = [
    `--etcd-servers=${options.etcdUrl}`,
    `--etcd-prefix=${options.etcdPrefix ?? '/registry'}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${files.servingCert}`,
    `--tls-private-key-file=${files.servingKey}`,
    `--client-ca-file=${files.ca}`,
    `--kubelet-client-certificate=${files.kubeletClientCert}`,
    `--kubelet-client-key=${files.kubeletClientKey}`,
    `--kubelet-certificate-authority=${files.kubeletCa}`,
    '--kubelet-preferred-address-types=InternalIP',
    `--service-account-key-file=${files.saPub}`,
    `--service-account-signing-key-file=${files.saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--service-cluster-ip-range=10.96.0.0/16',
    '--authorization-mode=Node,RBAC',
    // No controller-manager runs, so nothing would create the default ServiceAccount pods need.
    '--disable-admission-plugins=ServiceAccount',
    // The kubernetes Service's endpoints would need a routable advertise address.
    '--endpoint-reconciler-type=none',
    `--cert-dir=${options.dir}`,
    ...(files.egress ? [`--egress-selector-config-file=${files.egress}`] : []),
  ];
  const child = spawn(options.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = new OutputTail(child, 65_536);
  const kubeconfig = join(options.dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, {
    server: url,
    ca: options.pki.ca.cert,
    cert: options.pki.admin.cert,
    key: options.pki.admin.key,
    name: 'e2e',
  });
  const agent = new https.Agent({ ca: options.pki.ca.cert, cert: options.pki.admin.cert, key: options.pki.admin.key, keepAlive: false });
  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = https.get(`${url}${path}`, { agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
      req.on('error', reject);
    });
  try {
    await pollUntil(async () => (await get('/readyz')).status === 200, {
      child,
      what: 'kube-apiserver',
      timeoutMs: 90_000,
      describe: () => tail.toString(),
    });
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { url, kubeconfig, get, output: () => tail.toString(), stop: () => stopChild(child) };
}
