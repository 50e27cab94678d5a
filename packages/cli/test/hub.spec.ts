import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { startHttpServer, startTcpServer } from './support/servers.js';

describe('spoke hub + spoke agent + spoke proxy (real processes)', () => {
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  let forbiddenPort: number;
  let hub: CliProcess;
  let agents: CliProcess[] = [];
  let proxy: CliProcess;
  let hubAddress = '';
  let fingerprint = '';
  let clientTokenFile = '';
  let metrics = '';
  let socks = '';
  let http = '';
  let dir: string;
  const forbidden = { close: async () => {} };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-cli-hub-'));
    web = await startHttpServer();
    const other = await startTcpServer((s) => s.end('must not be reached\n'));
    forbiddenPort = other.port;
    forbidden.close = () => other.close();
    hub = startCli(['hub', '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    const [line = ''] = await hub.line(/^spoke hub listening: .+$/m);
    hubAddress = /wss:\/\/(\S+)/.exec(line)?.[1] ?? '';
    fingerprint = /fingerprint=(\S+)/.exec(line)?.[1] ?? '';
    const agentTokenFile = /agent-token-file=(\S+)/.exec(line)?.[1] ?? '';
    clientTokenFile = /client-token-file=(\S+)/.exec(line)?.[1] ?? '';
    metrics = /metrics=(\S+)/.exec(line)?.[1] ?? '';
    const common = ['--hub', `wss://${hubAddress}`, '--token-file', agentTokenFile, '--hub-fingerprint', fingerprint];
    agents = [
      // Only node-a may reach the web server; the hub routes 127.0.0.1 to it by its ipv4 identifier.
      startCli(['agent', ...common, '--id', 'node-a', '--identifiers', 'ipv4=127.0.0.1', '--allow', `127.0.0.1/32:${web.port}`]),
      startCli(['agent', ...common, '--id', 'node-b', '--identifiers', 'default-route=true', '--allow', '127.0.0.1/32:1']),
    ];
    await hub.stderrMatch(/agent connected.*agent=node-a/);
    await hub.stderrMatch(/agent connected.*agent=node-b/);
    const via = `spoke+wss://${hubAddress}/?token-file=${clientTokenFile}&fingerprint=${fingerprint}`;
    proxy = startCli(['proxy', '--socks5', '127.0.0.1:0', '--http', '127.0.0.1:0', '--via', via]);
    const [proxyLine = ''] = await proxy.line(/^spoke proxy listening: .+$/m);
    socks = /socks5 (\S+?),/.exec(proxyLine)?.[1] ?? '';
    http = /http (\S+) /.exec(proxyLine)?.[1] ?? '';
  });

  afterAll(async () => {
    await Promise.all([proxy?.stop(), ...agents.map((a) => a.stop())]);
    await hub?.stop();
    await Promise.all([web?.close(), forbidden.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('curl through spoke proxy reaches the server only node-a may reach', async () => {
    const result = await curl(['--socks5-hostname', socks, `http://127.0.0.1:${web.port}/via-hub`]);
    expect(result).toMatchObject({ code: 0, stdout: 'hello from /via-hub\n' });
    const plain = await curl(['-x', `http://${http}`, `http://127.0.0.1:${web.port}/plain-via-hub`]);
    expect(plain).toMatchObject({ code: 0, stdout: 'hello from /plain-via-hub\n' });
  });

  it('a target outside the agent allow list is denied, and curl sees it', async () => {
    const socksResult = await curl(['--socks5-hostname', socks, `http://127.0.0.1:${forbiddenPort}/`]);
    expect(socksResult.stderr).toMatch(/SOCKS5 connection to .*\(2\)/i);
    const httpResult = await curl(['-i', '-x', `http://${http}`, `http://127.0.0.1:${forbiddenPort}/`]);
    expect(httpResult.stdout).toMatch(/^HTTP\/1\.1 403 /);
    expect(httpResult.stdout).toMatch(/X-Spoke-Error-Code: ERR_DIAL_DENIED/i);
    await agents[0]?.stderrMatch(/denied|not allowed|refus/i);
  });

  it('serves Prometheus metrics and readiness on --metrics', async () => {
    const ready = await curl([metrics.replace('/metrics', '/readyz')]);
    expect(ready.stdout).toContain('ok: 2 agent(s)');
    const text = await curl([metrics]);
    expect(text.stdout).toMatch(/spoke_hub_agents 2/);
  });

  it('a wrong client token or a wrong pinned fingerprint is refused (exit 1, coded)', async () => {
    const badToken = join(dir, 'bad.token');
    writeFileSync(badToken, 'not-the-token\n');
    const wrongToken = await runCli([
      'dial',
      `127.0.0.1:${web.port}`,
      '--via',
      `spoke+wss://${hubAddress}/?token-file=${badToken}&fingerprint=${fingerprint}`,
    ]);
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain('ERR_AUTH_FAILED');
    expect(wrongToken.stderr).not.toContain('not-the-token');
    const wrongPin = await runCli([
      'dial',
      `127.0.0.1:${web.port}`,
      '--via',
      `spoke+wss://${hubAddress}/?token-file=${clientTokenFile}&fingerprint=sha256:${'0'.repeat(64)}`,
    ]);
    expect(wrongPin.code).toBe(1);
    expect(wrongPin.stderr).toContain('ERR_CERT_PIN');
  });

  it('agent flags are checked: no --hub / --id is a usage error', async () => {
    expect((await runCli(['agent', '--id', 'x'])).code).toBe(2);
    expect((await runCli(['agent', '--hub', `wss://${hubAddress}`])).code).toBe(2);
    expect((await runCli(['hub', '--listen', '127.0.0.1:0', '--tls-cert', 'only-cert.pem'])).code).toBe(2);
  });
});
