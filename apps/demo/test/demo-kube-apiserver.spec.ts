import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processesMentioning, startDemo } from './demo-process.js';
import { expectEveryRow } from './demo-rows.js';

describe('npm run demo -- --kube-apiserver', () => {
  it('runs the same 20 rows against the real kube-apiserver on etcd, then leaves nothing behind', async () => {
    const demo = startDemo(['--once', '--kube-apiserver']);
    const code = await demo.exited;
    expect(code, demo.stdout() + demo.stderr()).toBe(0);
    expect(demo.stdout()).toMatch(/control plane {2}https:\/\/127\.0\.0\.1:\d+ {2}the real kube-apiserver v1\.34\.\d+ on etcd/);
    expectEveryRow(demo.stdout());
    const dir = dirname(/export KUBECONFIG=(\S+)/.exec(demo.stdout())?.[1] ?? '/nonexistent/x');
    expect(existsSync(dir), 'the temp dir is removed').toBe(false);
    expect(processesMentioning(dir), 'no process (etcd, kube-apiserver) outlives the demo').toEqual([]);
  }, 150_000);

  it('the built-in API client speaks WebSocket v5 exec and v4 port-forward to the real kube-apiserver', async () => {
    const demo = startDemo(['--once', '--kube-apiserver', '--client=api']);
    const code = await demo.exited;
    expect(code, demo.stdout() + demo.stderr()).toBe(0);
    expectEveryRow(demo.stdout());
    expect(demo.stdout()).toMatch(/WS v5 pods\/exec .*✔ stdin echoed, exit code 3/);
  }, 150_000);

  it('without a built kube-apiserver, says how to build it and exits 2', async () => {
    const demo = startDemo(['--once', '--kube-apiserver'], { SPOKE_KUBE_CACHE: '/nonexistent/spoke-kube-cache' });
    expect(await demo.exited).toBe(2);
    expect(demo.stderr()).toContain('npm run kube:build -w @spoke/e2e');
  }, 30_000);
});
