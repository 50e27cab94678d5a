import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findKubectl } from '../src/kubectl-client.js';
import { processesMentioning, startDemo } from './demo-process.js';
import { expectEveryRow } from './demo-rows.js';

describe('npm run demo -- --once', () => {
  it('reaches all four nodes through the control plane, prints the table and the kubectl commands, exits 0', async () => {
    const demo = startDemo(['--once']);
    const code = await demo.exited;
    expect(demo.stderr()).not.toMatch(/demo failed/);
    expect(code, demo.stdout()).toBe(0);
    expectEveryRow(demo.stdout());
    // kubectl is preferred when installed, and the table says which client ran.
    if (findKubectl()) expect(demo.stdout()).toMatch(/client: kubectl v1\.\d+/);
    else expect(demo.stdout()).toMatch(/client: built-in Kubernetes API client/);
    if (existsSync('/usr/sbin/sshd')) expect(demo.stdout()).toContain('node-2 SSH (OpenSSH sshd)');
    expect(demo.stdout()).toMatch(/export KUBECONFIG=\/.*\/kubeconfig/);
    expect(demo.stdout()).toContain('kubectl get nodes -o wide');
    expect(demo.stdout()).toMatch(/kubectl port-forward pod\/web-4 8080:http/);
    const dir = dirname(/export KUBECONFIG=(\S+)/.exec(demo.stdout())?.[1] ?? '/nonexistent/x');
    expect(existsSync(dir), 'the temp dir is removed').toBe(false);
    expect(processesMentioning(dir), 'no process outlives the demo').toEqual([]);
  }, 90_000);

  it('works without kubectl or sshd: the built-in API client and the embedded ssh2 server', async () => {
    const demo = startDemo(['--once', '--client=api', '--ssh=embedded']);
    const code = await demo.exited;
    expect(code, demo.stdout() + demo.stderr()).toBe(0);
    expectEveryRow(demo.stdout());
    expect(demo.stdout()).toContain('client: built-in Kubernetes API client');
    expect(demo.stdout()).toContain('node-2 SSH (embedded ssh2 server)');
    expect(demo.stdout()).toMatch(/WS v5 pods\/exec .*✔ stdin echoed, exit code 3/);
    expect(demo.stdout()).toMatch(/WS v4 pods\/portforward .*✔ 200 hello from web-1 on node-1/);
  }, 90_000);

  it('rejects an unknown --client with the usage and exit code 2', async () => {
    const demo = startDemo(['--once', '--client=curl']);
    expect(await demo.exited).toBe(2);
    expect(demo.stderr()).toContain('usage: npm run demo');
  }, 30_000);
});
