import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { createNode, type KubeletNode, type NodeConfig } from '../src/index.js';
import { ensureGoClient } from './build-go-client.mjs';

/** A node on 127.0.0.1 with its PKI on disk, and the client-go test client pointed at it. */
export interface NodeUnderTest {
  node: KubeletNode;
  /** `https://127.0.0.1:port` */
  base: string;
  /** PEM: the CA the node's serving certificate chains to, and a client certificate it accepts. */
  tls: { ca: string; cert: string; key: string };
  /** Runs a kubelet-test-client subcommand against a path (+ query) of the node; returns its JSON. */
  client<T = Record<string, unknown>>(subcommand: 'exec' | 'partial' | 'portforward', path: string, args?: string[]): Promise<T>;
  close(): Promise<void>;
}

/** What `kubelet-test-client exec` prints. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  error?: string;
  detached?: boolean;
  ms: number;
}

/** What `kubelet-test-client portforward` prints. */
export interface PortForwardResult {
  responses?: string[];
  /** Errors client-go reported through utilruntime.HandleError (the error stream's text lands here). */
  handled: string[];
  forwardError?: string;
  /** Milliseconds per exchange. */
  ms?: number[];
}

/** Starts a node whose client CA issued the test client's certificate. */
export async function startNode(config: Omit<NodeConfig, 'name' | 'tls'>): Promise<NodeUnderTest> {
  const ca = createCertificateAuthority({ commonName: 'node-test-ca', days: 1 });
  const serving = ca.issue({ commonName: 'system:node:node-t', altNames: ['127.0.0.1'], usages: ['server'], days: 1 });
  const client = ca.issue({ commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters', usages: ['client'], days: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'spoke-node-test-'));
  const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, client.cert);
  writeFileSync(files.key, client.key);
  const node = await createNode(
    { name: 'node-t', tls: { cert: serving.cert, key: serving.key, clientCa: ca.cert }, ...config },
    { signal: AbortSignal.timeout(10_000) },
  );
  const base = `https://127.0.0.1:${node.port}`;
  const binary = ensureGoClient().path;
  return {
    node,
    base,
    tls: { ca: ca.cert, cert: client.cert, key: client.key },
    client<T>(subcommand: string, path: string, args: string[] = []): Promise<T> {
      const argv = [subcommand, '-url', `${base}${path}`, '-ca', files.ca, '-cert', files.cert, '-key', files.key, ...args];
      return new Promise((resolve, reject) => {
        execFile(binary, argv, { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`kubelet-test-client ${argv.join(' ')} failed: ${err.message}\n${stderr}`));
          else resolve(JSON.parse(stdout) as T);
        });
      });
    },
    async close() {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A kubelet exec path with query flags. */
export function execPath(
  pod: string,
  container: string,
  command: string[],
  flags: { stdin?: boolean; stdout?: boolean; stderr?: boolean; tty?: boolean },
): string {
  const q = new URLSearchParams();
  for (const arg of command) q.append('command', arg);
  if (flags.stdin) q.set('input', '1');
  if (flags.stdout ?? true) q.set('output', '1');
  if (flags.stderr) q.set('error', '1');
  if (flags.tty) q.set('tty', '1');
  return `/exec/default/${pod}/${container}?${q.toString()}`;
}
