import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { freeRegisteredPort } from './support/ports.js';

// The flags of kubernetes-sigs/apiserver-network-proxy examples/kubernetes/*.yaml (4f8517c, 2026-08-21) that exited 2
// before issue 16 §5, and --admin-server-port of the kubernetes.io Konnectivity task's agent.
describe("spoke konnectivity server|agent take upstream's manifest flags (issue 16 §5)", () => {
  let dir: string;
  let files: { cert: string; key: string; tokens: string; ca: string };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cli-konn-flags-'));
    const ca = createCertificateAuthority({ commonName: 'konnectivity test CA' });
    const cluster = ca.issue({ commonName: 'konnectivity-server', altNames: ['127.0.0.1'], usages: ['server'] });
    files = { cert: join(dir, 'cluster.crt'), key: join(dir, 'cluster.key'), tokens: join(dir, 'tokens'), ca: join(dir, 'ca.crt') };
    writeFileSync(files.cert, cluster.cert);
    writeFileSync(files.key, cluster.key, { mode: 0o600 });
    writeFileSync(files.tokens, 'agent-token\n', { mode: 0o600 });
    writeFileSync(files.ca, ca.cert);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('server: --log-file gets the logs, --logtostderr=false keeps them off stderr, --log-file-max-size=0 is accepted', async () => {
    const logFile = join(dir, 'konnectivity-server.log');
    const server = startCli([
      'konnectivity',
      'server',
      `--log-file=${logFile}`,
      '--logtostderr=false',
      '--log-file-max-size=0',
      `--uds-name=${join(dir, 'k.sock')}`,
      `--cluster-cert=${files.cert}`,
      `--cluster-key=${files.key}`,
      '--server-port=0',
      '--agent-bind-address=127.0.0.1',
      `--agent-port=${await freeRegisteredPort()}`,
      '--health-bind-address=127.0.0.1',
      `--health-port=${await freeRegisteredPort()}`,
      `--admin-port=${await freeRegisteredPort()}`,
      '--keepalive-time=1h',
      '--mode=http-connect',
      `--agent-token-file=${files.tokens}`,
    ]);
    await server.line(/^spoke konnectivity server listening: .+$/m);
    const result = await server.stop();
    expect(result.code).toBe(0);
    expect(readFileSync(logFile, 'utf8')).toMatch(/INFO {2}shutting down/);
    expect(result.stderr).toBe('');
  });

  it('agent: --admin-server-port serves /metrics and /healthz, with no warning about ignored flags', async () => {
    const [admin, health] = [await freeRegisteredPort(), await freeRegisteredPort()];
    const agent = startCli([
      'konnectivity',
      'agent',
      '--logtostderr=true',
      `--ca-cert=${files.ca}`,
      '--proxy-server-host=127.0.0.1',
      `--proxy-server-port=${await freeRegisteredPort()}`,
      `--service-account-token-path=${files.tokens}`,
      `--admin-server-port=${admin}`,
      `--health-server-port=${health}`,
      '--health-server-host=127.0.0.1',
    ]);
    try {
      const [line = ''] = await agent.line(/^spoke konnectivity agent .+$/m);
      expect(line).toContain(`admin on port ${admin}`);
      const metrics = await curl([`http://127.0.0.1:${admin}/metrics`]);
      expect(metrics.stdout).toContain('konnectivity_network_proxy_agent_open_server_connections 0');
      expect((await curl([`http://127.0.0.1:${admin}/healthz`])).stdout).toBe('ok\n');
      expect(agent.stderr).not.toMatch(/ignored flags/);
    } finally {
      await agent.stop();
    }
  });
});
