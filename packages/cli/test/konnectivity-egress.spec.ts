import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { freeRegisteredPort } from './support/ports.js';
import { startConnectProxy, startHttpServer, startTcpServer, type Served } from './support/servers.js';

function egressConfig(selections: string): string {
  return `apiVersion: apiserver.k8s.io/v1beta1\nkind: EgressSelectorConfiguration\negressSelections:\n${selections}`;
}

describe('spoke konnectivity server + agent, reached with --via konnectivity+grpc+unix:// and spoke egress', () => {
  let dir: string;
  let echo: Served;
  // Konnectivity has no half-close: a server that answers and closes ends the dial at once (no end-grace wait).
  let replyOnce: Served;
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  let proxy: Awaited<ReturnType<typeof startConnectProxy>>;
  let server: CliProcess;
  let agent: CliProcess;
  let socket: string;
  let configFile: string;
  let adminPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cli-konn-'));
    [echo, replyOnce, web, proxy] = await Promise.all([
      startTcpServer((s) => s.pipe(s)),
      startTcpServer((s) => s.once('data', (chunk: Buffer) => s.end(chunk))),
      startHttpServer(),
      startConnectProxy(),
    ]);
    const ca = createCertificateAuthority({ commonName: 'konnectivity test CA' });
    const cluster = ca.issue({ commonName: 'konnectivity-server', altNames: ['127.0.0.1', 'localhost'], usages: ['server'] });
    const files = { ca: join(dir, 'ca.crt'), cert: join(dir, 'cluster.crt'), key: join(dir, 'cluster.key'), token: join(dir, 'token') };
    writeFileSync(files.ca, ca.cert);
    writeFileSync(files.cert, cluster.cert);
    writeFileSync(files.key, cluster.key);
    writeFileSync(files.token, 'agent-secret-token\n');
    socket = join(dir, 'konnectivity.sock');
    const [agentPort, healthPort] = [await freeRegisteredPort(), await freeRegisteredPort()];
    adminPort = await freeRegisteredPort();
    server = startCli([
      'konnectivity',
      'server',
      `--uds-name=${socket}`,
      '--server-port=0',
      `--agent-port=${agentPort}`,
      '--agent-bind-address=127.0.0.1',
      `--health-port=${healthPort}`,
      '--health-bind-address=127.0.0.1',
      `--cluster-cert=${files.cert}`,
      `--cluster-key=${files.key}`,
      `--agent-token-file=${files.token}`,
      `--admin-port=${adminPort}`,
      '--enable-profiling',
    ]);
    await server.line(/^spoke konnectivity server listening: .+$/m);
    agent = startCli([
      'konnectivity',
      'agent',
      '--proxy-server-host=127.0.0.1',
      `--proxy-server-port=${agentPort}`,
      `--ca-cert=${files.ca}`,
      `--service-account-token-path=${files.token}`,
      '--agent-id=node-1',
      '--health-server-host=127.0.0.1',
      '--health-server-port=0',
    ]);
    await server.stderrMatch(/agent node-1 connected/);
    configFile = join(dir, 'egress.yaml');
    writeFileSync(
      configFile,
      egressConfig(
        [
          `- name: cluster\n  connection:\n    proxyProtocol: GRPC\n    transport:\n      uds:\n        udsName: ${socket}`,
          `- name: controlplane\n  connection:\n    proxyProtocol: HTTPConnect\n    transport:\n      tcp:\n        url: http://${proxy.address}`,
          '',
        ].join('\n'),
      ),
    );
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await Promise.all([echo?.close(), replyOnce?.close(), web?.close(), proxy?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the server warns about upstream flags it accepts but ignores, and serves /metrics on --admin-port', async () => {
    expect(server.stderr).toMatch(/ignored.*--enable-profiling/);
    const res = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/konnectivity_network_proxy_server_ready_backends/);
  });

  it('spoke dial --via konnectivity+grpc+unix:// goes server → agent → target', async () => {
    const result = await runCli(['dial', replyOnce.address, '--via', `konnectivity+grpc+unix://${socket}`], {
      input: 'through konnectivity',
    });
    expect(result).toMatchObject({ code: 0, stdout: 'through konnectivity' });
  });

  it('spoke egress --selection cluster (GRPC) dials through Konnectivity', async () => {
    const result = await runCli(['egress', '--config', configFile, '--selection', 'cluster', 'dial', replyOnce.address], {
      input: 'egress grpc',
    });
    expect(result).toMatchObject({ code: 0, stdout: 'egress grpc' });
  });

  it('spoke egress --selection master (HTTPConnect) forwards through the CONNECT proxy', async () => {
    const cli = startCli(['egress', '--config', configFile, '--selection', 'master', 'forward', '-L', `0:${web.address}`]);
    try {
      const [, local = ''] = await cli.line(/^spoke forward listening: (127\.0\.0\.1:\d+) ->/m);
      const result = await curl([`http://${local}/egress`]);
      expect(result).toMatchObject({ code: 0, stdout: 'hello from /egress\n' });
      expect(proxy.connects).toContain(web.address);
    } finally {
      expect((await cli.stop()).code).toBe(0);
    }
  });

  it('spoke egress: a selection the file does not list is dialled directly', async () => {
    const result = await runCli(['egress', '--config', configFile, '--selection', 'etcd', 'dial', echo.address], { input: 'direct' });
    expect(result).toMatchObject({ code: 0, stdout: 'direct' });
  });

  it('spoke egress: an invalid file, a bad selection or no action are usage errors', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, egressConfig('- name: apiserver\n  connection:\n    proxyProtocol: Direct\n'));
    const invalid = await runCli(['egress', '--config', bad, '--selection', 'cluster', 'dial', echo.address]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('egressSelections[0].name');
    expect((await runCli(['egress', '--config', configFile, '--selection', 'kubelet', 'dial', echo.address])).code).toBe(2);
    expect((await runCli(['egress', '--config', configFile, '--selection', 'cluster'])).code).toBe(2);
  });

  it('konnectivity: bad upstream flags or a missing role are usage errors; --help lists the flags', async () => {
    expect((await runCli(['konnectivity', 'server', '--no-such-flag=1'])).code).toBe(2);
    expect((await runCli(['konnectivity', 'server', '--uds-name=/tmp/x.sock'])).code).toBe(2);
    expect((await runCli(['konnectivity'])).code).toBe(2);
    const help = await runCli(['konnectivity', 'server', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--proxy-strategies');
  });
});
