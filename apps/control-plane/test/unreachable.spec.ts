import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedTcpPort } from '@spoke/transport-core/testing';
import { createControlPlane, createDemoPki, type ControlPlane } from '../src/index.js';

const run = promisify(execFile);

describe('a node the egress path cannot reach', () => {
  let cp: ControlPlane;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cp-'));
    const pki = createDemoPki();
    const closed = await closedTcpPort();
    cp = await createControlPlane(
      {
        tls: { cert: pki.controlPlane.cert, key: pki.controlPlane.key, clientCa: pki.ca.cert },
        nodes: [
          { name: 'gone', addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], kubeletPort: 'port' in closed ? closed.port : 1 },
        ],
        kubeletCa: pki.ca.cert,
        kubeletClientCert: pki.kubeletClient.cert,
        kubeletClientKey: pki.kubeletClient.key,
      },
      { signal: AbortSignal.timeout(10_000) },
    );
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, cp.kubeconfig({ ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key }));
    env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig };
  });
  afterAll(async () => {
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is NotReady, and proxying to it fails with the dial error and code', async () => {
    const nodes = await run('kubectl', ['get', 'nodes'], { env, timeout: 30_000 });
    expect(nodes.stdout).toMatch(/gone\s+NotReady/);
    const err = await run('kubectl', ['get', '--raw', '/api/v1/nodes/gone/proxy/healthz'], { env, timeout: 30_000 }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/error dialing backend: .*ERR_DIAL_REFUSED/);
    const metrics = await run('kubectl', ['get', '--raw', '/metrics'], { env, timeout: 30_000 });
    expect(metrics.stdout).toMatch(/apiserver_egress_dialer_dial_failure_count\{protocol="direct",stage="connect",transport="tcp"\} [1-9]/);
  });
});
