import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@spoke/transport-core/testing';
import { startCluster, type TestCluster } from './cluster.js';

const DIRECT = `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: Direct
`;

function httpGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false, signal: AbortSignal.timeout(10_000) }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('kubectl against the control plane, Direct TLS egress', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster(() => ({ egressConfig: DIRECT }));
  });
  afterAll(async () => {
    await c?.close();
  });

  it('kubectl get nodes shows the node Ready', async () => {
    const r = await c.kubectl(['get', 'nodes']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
    expect(r.stdout).toMatch(/node-a\s+Ready/);
  });

  it('kubectl get pods lists both pods, running', async () => {
    const r = await c.kubectl(['get', 'pods', '-o', 'wide']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/web\s+1\/1\s+Running/);
    expect(r.stdout).toMatch(/tools\s+1\/1\s+Running/);
    expect(r.stdout).toContain('node-a');
  });

  it('label and field selectors, services and namespaces', async () => {
    const web = await c.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'name']);
    expect(web.stdout, web.stderr).toBe('pod/web\n');
    const notWeb = await c.kubectl(['get', 'pods', '-l', 'app!=web,!missing', '-o', 'name']);
    expect(notWeb.stdout, notWeb.stderr).toBe('pod/tools\n');
    const byName = await c.kubectl(['get', 'pods', '--field-selector', 'metadata.name=tools', '-o', 'name']);
    expect(byName.stdout, byName.stderr).toBe('pod/tools\n');
    const svc = await c.kubectl(['get', 'services']);
    expect(svc.stdout, svc.stderr).toMatch(/web\s+ClusterIP\s+80\/TCP/);
    const ns = await c.kubectl(['get', 'namespaces', '-o', 'name']);
    expect(ns.stdout, ns.stderr).toBe('namespace/default\n');
    const missing = await c.kubectl(['get', 'namespace', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('namespaces "nope" not found');
  });

  it('kubectl logs --tail', async () => {
    const r = await c.kubectl(['logs', 'web', '--tail=2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('line 2\nline 3\n');
  });

  it('kubectl logs -f streams appended lines and stops cleanly when killed', async () => {
    const child = c.spawnKubectl(['logs', '-f', 'web', '--tail=1']);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('line 3'), 'the last history line', 20_000);
    appendFileSync(c.logFile, 'line 4 appended\n');
    await waitFor(() => out.includes('line 4 appended'), 'the appended line', 20_000);
    expect(c.node.stats().logFollowers).toBe(1);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    await waitFor(() => c.node.stats().logFollowers === 0, 'the node to stop following', 20_000);
  });

  it('kubectl exec -i carries stdin, stdout and the exit code', async () => {
    const r = await c.kubectl(['exec', '-i', 'tools', '--', 'sh', '-c', 'cat; echo to-stderr >&2; exit 3'], { stdin: 'hello stdin\n' });
    expect(r.stdout).toBe('hello stdin\n');
    expect(r.stderr).toContain('to-stderr');
    expect(r.code).toBe(3);
    const ok = await c.kubectl(['exec', 'tools', '--', 'echo', 'fine']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('fine\n');
  });

  it.each([
    ['WebSocket-tunnelled SPDY (the kubectl 1.32 default)', {}],
    ['plain SPDY/3.1 upgrade', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
  ])('kubectl port-forward carries real HTTP over %s', async (_name, extraEnv: Record<string, string>) => {
    const pods = JSON.parse((await c.kubectl(['get', 'pod', 'web', '-o', 'json'])).stdout) as {
      spec: { containers: Array<{ ports: Array<{ containerPort: number }> }> };
    };
    const remote = pods.spec.containers[0]?.ports[0]?.containerPort;
    const child = c.spawnKubectl(['port-forward', 'pod/web', `:${remote}`, '--address', '127.0.0.1'], extraEnv);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(() => /Forwarding from 127\.0\.0\.1:\d+/.test(out) || child.exitCode !== null, 'port-forward to listen', 20_000);
    const local = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    expect(local, err).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const r = await httpGet(local, `/request-${i}`);
      expect(r.status).toBe(200);
      expect(r.body).toBe('hello through the tunnel\n');
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    await waitFor(() => c.node.stats().portForwards === 0, 'the node to end the port-forward', 20_000);
  });

  it('kubectl get --raw reaches the kubelet through the node proxy', async () => {
    const r = await c.kubectl(['get', '--raw', '/api/v1/nodes/node-a/proxy/healthz']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
    const pods = await c.kubectl(['get', '--raw', '/api/v1/nodes/node-a/proxy/pods']);
    expect((JSON.parse(pods.stdout) as { kind?: string }).kind).toBe('PodList');
  });

  it('pod and service proxy subresources reach the pod', async () => {
    const pod = await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/web:http/proxy/x']);
    expect(pod.code, pod.stderr).toBe(0);
    expect(pod.stdout).toBe('hello through the tunnel\n');
    const svc = await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/services/http:web:http/proxy/']);
    expect(svc.code, svc.stderr).toBe(0);
    expect(svc.stdout).toBe('hello through the tunnel\n');
  });

  it('exposes the egress dial metrics', async () => {
    const r = await c.kubectl(['get', '--raw', '/metrics']);
    expect(r.stdout).toMatch(/apiserver_egress_dialer_dial_duration_seconds_count\{protocol="direct",transport="tcp"\} [1-9]/);
    expect(r.stdout).toContain('# TYPE apiserver_egress_dialer_dial_failure_count counter');
  });
});
