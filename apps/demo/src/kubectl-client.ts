import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import http from 'node:http';
import { delimiter, join } from 'node:path';
import { raceSignal } from '@spoke/transport-core/utils';
import type { ExecResult, KubeClient } from './kube-client.js';
import type { Teardown } from './teardown.js';

/** Finds kubectl: `/usr/bin/kubectl` first, then `$PATH`. */
export function findKubectl(): string | undefined {
  const candidates = [
    '/usr/bin/kubectl',
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'kubectl')),
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * A {@link KubeClient} that runs the real kubectl with the demo kubeconfig
 * (and a private `HOME`, so the user's cache and config are untouched).
 */
export function createKubectlClient(options: { kubectl: string; kubeconfig: string; home: string; teardown: Teardown }): KubeClient {
  const { kubectl, teardown } = options;
  mkdirSync(options.home, { recursive: true });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: options.home, KUBECONFIG: options.kubeconfig };
  const versionOut = spawnSync(kubectl, ['version', '--client', '-o', 'json'], { env, encoding: 'utf8', timeout: 10_000 });
  let version = 'unknown version';
  try {
    version = (JSON.parse(versionOut.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  } catch {
    // an odd kubectl still gets to try
  }

  const run = (args: string[], stdin: string, signal: AbortSignal): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      const child = teardown.track(spawn(kubectl, args, { env, stdio: ['pipe', 'pipe', 'pipe'], signal }));
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ stdout, stderr, code: code ?? -1 }));
      child.stdin?.on('error', () => {});
      child.stdin?.end(stdin);
    });
  const ok = async (args: string[], signal: AbortSignal): Promise<string> => {
    const r = await run(args, '', signal);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };

  return {
    description: `kubectl ${version} (${kubectl})`,
    spell: (check) =>
      ({
        nodes: 'kubectl get nodes',
        logs: 'kubectl logs --tail=2',
        exec: "kubectl exec -i -- sh -c 'cat; exit 3'",
        'port-forward': 'kubectl port-forward :http + GET /',
        'node-proxy': 'kubectl get --raw …/proxy/healthz',
      })[check],
    async nodes(signal) {
      const list = JSON.parse(await ok(['get', 'nodes', '-o', 'json'], signal)) as {
        items: Array<{ metadata: { name: string }; status: { conditions: Array<{ type: string; status: string }> } }>;
      };
      return new Map(list.items.map((n) => [n.metadata.name, n.status.conditions.find((c) => c.type === 'Ready')?.status ?? 'Unknown']));
    },
    logs: (pod, tail, signal) => ok(['logs', pod, `--tail=${tail}`], signal),
    exec: (pod, argv, stdin, signal) => run(['exec', '-i', pod, '--', ...argv], stdin, signal),
    async portForwardGet(pod, path, signal) {
      const child = teardown.track(
        spawn(kubectl, ['port-forward', `pod/${pod}`, ':http', '--address', '127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      try {
        let out = '';
        let err = '';
        child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
        const forwarding = new Promise<number>((resolve, reject) => {
          child.stdout?.on('data', (c: Buffer) => {
            out += c.toString();
            const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.once('close', (code) => reject(new Error(`kubectl port-forward exited ${String(code)}: ${err.trim()}`)));
        });
        // The finally below kills kubectl whichever way this ends.
        const local = await raceSignal(forwarding, signal, (reason) => reason);
        return await httpGet(local, path, signal);
      } finally {
        child.kill('SIGTERM');
        await exited;
      }
    },
    raw: (path, signal) => ok(['get', '--raw', path], signal),
  };
}

function httpGet(port: number, path: string, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false, signal }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
