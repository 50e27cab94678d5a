import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshDialer } from '@spoke/dialer-ssh';
import { startSshd, type Sshd } from '@spoke/dialer-ssh/testing';
import { waitFor } from '@spoke/transport-core/testing';
import { startCluster, type TestCluster } from './cluster.js';

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false, signal: AbortSignal.timeout(10_000) }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('kubectl against the control plane, SSH tunnel egress (real OpenSSH sshd)', () => {
  let sshd: Sshd;
  let c: TestCluster;
  beforeAll(async () => {
    sshd = await startSshd();
    const ssh = createSshDialer({
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.username,
      privateKeyFile: sshd.clientKeyFile,
      knownHostsFile: sshd.knownHostsFile,
    });
    c = await startCluster(() => ({
      egressSelector: { dialerFor: () => ssh },
      egressLabels: { protocol: 'ssh', transport: 'tcp' },
      cleanup: () => ssh.close(),
    }));
  });
  afterAll(async () => {
    await c?.close();
    await sshd?.cleanup();
  });

  it('get nodes, get pods, logs, exec and node proxy ride one SSH connection', async () => {
    const nodes = await c.kubectl(['get', 'nodes']);
    expect(nodes.stdout).toMatch(/node-a\s+Ready/);
    expect(sshd.sessions()).toBe(1);
    const pods = await c.kubectl(['get', 'pods']);
    expect(pods.stdout).toMatch(/web\s+1\/1\s+Running/);
    const logs = await c.kubectl(['logs', 'web', '--tail=1']);
    expect(logs.stdout).toBe('line 3\n');
    const exec = await c.kubectl(['exec', '-i', 'tools', '--', 'sh', '-c', 'cat; exit 3'], { stdin: 'via ssh\n' });
    expect(exec.stdout).toBe('via ssh\n');
    expect(exec.code).toBe(3);
    const raw = await c.kubectl(['get', '--raw', '/api/v1/nodes/node-a/proxy/healthz']);
    expect(raw.stdout.trim()).toBe('ok');
    const metrics = await c.kubectl(['get', '--raw', '/metrics']);
    expect(metrics.stdout).toMatch(/apiserver_egress_dialer_dial_duration_seconds_count\{protocol="ssh",transport="tcp"\} [1-9]/);
    expect(sshd.sessions()).toBe(1);
  });

  it('port-forward carries HTTP through the SSH tunnel', async () => {
    const child = c.spawnKubectl(['port-forward', 'pod/web', ':http', '--address', '127.0.0.1']);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => /Forwarding from 127\.0\.0\.1:\d+/.test(out), 'port-forward to listen', 20_000);
    const local = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    expect(await httpGet(local)).toBe('hello through the tunnel\n');
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    await waitFor(() => c.node.stats().portForwards === 0, 'the node to end the port-forward', 20_000);
  });
});
