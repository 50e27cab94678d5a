import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKonnectivityAgent,
  createKonnectivityServer,
  type KonnectivityAgent,
  type KonnectivityServer,
} from '@spoke/dialer-konnectivity';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { startCluster, type TestCluster } from './cluster.js';

// The same control plane, switched to Konnectivity's HTTP-CONNECT mode purely by its
// EgressSelectorConfiguration (proxyProtocol: HTTPConnect over a unix socket), as kube-apiserver does.
describe('kubectl against the control plane, Konnectivity HTTP-CONNECT egress (our server + agent)', () => {
  let dir: string;
  let server: KonnectivityServer;
  let agent: KonnectivityAgent;
  let c: TestCluster;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-konn-hc-'));
    const ca = createCertificateAuthority({ commonName: 'konnectivity test CA' });
    const serverCert = ca.issue({ commonName: 'konnectivity-server', altNames: ['127.0.0.1', 'localhost'], usages: ['server'] });
    const agentCert = ca.issue({ commonName: 'system:konnectivity-agent', usages: ['client'] });
    const udsName = join(dir, 'konnectivity.socket');
    server = await createKonnectivityServer({
      mode: 'http-connect',
      udsName,
      agentPort: 0,
      agentBindAddress: '127.0.0.1',
      healthPort: false,
      clusterCert: serverCert.cert,
      clusterKey: serverCert.key,
      clusterCaCert: ca.cert,
    });
    agent = createKonnectivityAgent({
      proxyServerHost: '127.0.0.1',
      proxyServerPort: server.ports.agent,
      caCert: ca.cert,
      agentCert: agentCert.cert,
      agentKey: agentCert.key,
      agentId: 'node-a',
      allow: ['127.0.0.1/32'],
    });
    if (agent.servers().length === 0) await once(agent, 'server', { signal: AbortSignal.timeout(10_000) });
    const egressConfig = [
      'apiVersion: apiserver.k8s.io/v1beta1',
      'kind: EgressSelectorConfiguration',
      'egressSelections:',
      '- name: cluster',
      '  connection:',
      '    proxyProtocol: HTTPConnect',
      '    transport:',
      '      uds:',
      `        udsName: ${udsName}`,
      '',
    ].join('\n');
    c = await startCluster(() => ({ egressConfig }));
  });
  afterAll(async () => {
    await c?.close();
    agent?.destroy();
    server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('get nodes, logs, exec with an exit code and node proxy ride the HTTP-CONNECT tunnel', async () => {
    expect((await c.kubectl(['get', 'nodes'])).stdout).toMatch(/node-a\s+Ready/);
    expect((await c.kubectl(['logs', 'web', '--tail=1'])).stdout).toBe('line 3\n');
    const exec = await c.kubectl(['exec', '-i', 'tools', '--', 'sh', '-c', 'cat; exit 4'], { stdin: 'via http-connect\n' });
    expect(exec.stdout).toBe('via http-connect\n');
    expect(exec.code).toBe(4);
    expect((await c.kubectl(['get', '--raw', '/api/v1/nodes/node-a/proxy/healthz'])).stdout.trim()).toBe('ok');
    const metrics = await c.kubectl(['get', '--raw', '/metrics']);
    expect(metrics.stdout).toMatch(/apiserver_egress_dialer_dial_duration_seconds_count\{protocol="http_connect",transport="uds"\} [1-9]/);
  });
});
