import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@spoke/transport-core/testing';
import { findKubectl } from '../src/kubectl-client.js';
import { processesMentioning, startDemo, type DemoProcess } from './demo-process.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false, signal: AbortSignal.timeout(10_000) }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

// The Direct and SSH paths are covered by apps/control-plane/test; these are the two tunnels the demo adds.
describe('kubectl against the running demo: the Konnectivity and spoke-hub paths', () => {
  const kubectl = findKubectl();
  let demo: DemoProcess;
  let dir: string;
  let env: Record<string, string>;

  const run = (args: string[], stdin = ''): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(kubectl as string, args, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(stdin);
    });

  beforeAll(async () => {
    if (!kubectl) throw new Error('kubectl is required for these tests (install kubectl 1.32, e.g. /usr/bin/kubectl)');
    demo = startDemo([]);
    await waitFor(
      () => demo.stdout().includes('Running; press Ctrl-C to stop.') || demo.child.exitCode !== null,
      'the demo to come up',
      60_000,
    );
    const kubeconfig = /export KUBECONFIG=(\S+)/.exec(demo.stdout())?.[1];
    if (!kubeconfig) throw new Error(`the demo did not come up:\n${demo.stdout()}\n${demo.stderr()}`);
    dir = dirname(kubeconfig);
    env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: `${dir}/test-home`, KUBECONFIG: kubeconfig };
  }, 90_000);

  afterAll(async () => {
    if (demo && demo.child.exitCode === null && demo.child.signalCode === null) {
      // SIGINT lets the wrapper pass it on and the demo stop its children; SIGKILL only if that hangs.
      demo.child.kill('SIGINT');
      const timer = setTimeout(() => demo.child.kill('SIGKILL'), 10_000);
      await demo.exited;
      clearTimeout(timer);
    }
  });

  it('kubectl get nodes: all four Ready, with their egress path', async () => {
    const r = await run(['get', 'nodes', '-o', 'wide']);
    expect(r.code, r.stderr).toBe(0);
    for (const n of ['node-1', 'node-2', 'node-3', 'node-4']) expect(r.stdout).toMatch(new RegExp(`${n}\\s+Ready`));
    const json = JSON.parse((await run(['get', 'nodes', '-o', 'json'])).stdout) as {
      items: Array<{ metadata: { name: string; annotations: Record<string, string> } }>;
    };
    const egress = Object.fromEntries(json.items.map((n) => [n.metadata.name, n.metadata.annotations['spoke.dev/egress']]));
    expect(egress).toMatchObject({ 'node-3': 'konnectivity-grpc', 'node-4': 'spoke-hub' });
  });

  it.each([
    ['Konnectivity (gRPC/UDS)', 3],
    ['spoke hub + agent', 4],
  ])('%s: kubectl logs, exec with an exit code, port-forward carrying HTTP, get --raw node proxy', async (_path, n) => {
    // The pod's HTTP server appends a line per request (the demo's port-forward row made one).
    const logs = await run(['logs', `web-${n}`, '--tail=3']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe(`web-${n} listening on :http\nweb-${n} ready on node-${n}\nGET /\n`);

    const exec = await run(['exec', '-i', `web-${n}`, '--', 'sh', '-c', 'cat; echo oops >&2; exit 7'], `stdin for node-${n}\n`);
    expect(exec.stdout).toBe(`stdin for node-${n}\n`);
    expect(exec.stderr).toContain('oops');
    expect(exec.code).toBe(7);

    const pf = spawn(kubectl as string, ['port-forward', `pod/web-${n}`, ':http', '--address', '127.0.0.1'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pfExited = new Promise<void>((r) => pf.once('close', () => r()));
    try {
      let out = '';
      pf.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await waitFor(() => /Forwarding from 127\.0\.0\.1:\d+/.test(out) || pf.exitCode !== null, 'kubectl port-forward to listen', 20_000);
      const local = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
      for (let i = 0; i < 2; i++) expect(await httpGet(local)).toEqual({ status: 200, body: `hello from web-${n} on node-${n}\n` });
    } finally {
      pf.kill('SIGTERM');
      await pfExited;
    }

    // logs -f sees lines as the pod writes them (the two requests above) and stops cleanly when killed.
    const follow = spawn(kubectl as string, ['logs', '-f', `web-${n}`, '--tail=3'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const followExited = new Promise<void>((r) => follow.once('close', () => r()));
    let followed = '';
    let followErr = '';
    follow.stdout.on('data', (c: Buffer) => (followed += c.toString()));
    follow.stderr.on('data', (c: Buffer) => (followErr += c.toString()));
    try {
      await waitFor(() => followed.split('GET /').length - 1 >= 3, 'the followed log to show the requests', 20_000);
    } finally {
      follow.kill('SIGTERM');
    }
    // (the gcloud kubectl dispatcher reports a SIGTERM as exit 1, plain kubectl as the signal: either way it ends, silently)
    await followExited;
    expect(followErr).toBe('');

    const healthz = await run(['get', '--raw', `/api/v1/nodes/node-${n}/proxy/healthz`]);
    expect(healthz.code, healthz.stderr).toBe(0);
    expect(healthz.stdout.trim()).toBe('ok');
    const pods = JSON.parse((await run(['get', '--raw', `/api/v1/nodes/node-${n}/proxy/pods`])).stdout) as {
      items: Array<{ metadata: { name: string } }>;
    };
    expect(pods.items.map((p) => p.metadata.name)).toEqual([`web-${n}`]);
  });

  it('the egress metrics count dials per path', async () => {
    const r = await run(['get', '--raw', '/metrics']);
    expect(r.stdout).toMatch(/apiserver_egress_dialer_dial_duration_seconds_count\{protocol="grpc",transport="uds"\} [1-9]/);
    expect(r.stdout).toMatch(/apiserver_egress_dialer_dial_duration_seconds_count\{protocol="spoke",transport="tcp"\} [1-9]/);
  });

  it('Ctrl-C stops everything: exit 0, no process left, temp dir removed', async () => {
    expect(processesMentioning(dir).length, 'sshd runs from the demo dir while up').toBeGreaterThan(0);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 30_000);
});
