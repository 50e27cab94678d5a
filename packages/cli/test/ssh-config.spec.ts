import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '@spoke/dialer-ssh/testing';
import { runCli } from './support/cli-process.js';
import { startTcpServer, type Served } from './support/servers.js';

describe('spoke dial --via ssh://ALIAS reads $HOME/.ssh/config', () => {
  let bastion: Sshd;
  let node: Sshd;
  let echo: Served;
  let home: string;
  beforeAll(async () => {
    [bastion, node, echo] = await Promise.all([startSshd(), startSshd(), startTcpServer((s) => s.pipe(s))]);
    home = mkdtempSync(join(tmpdir(), 'spoke-cli-home-'));
    const ssh = join(home, '.ssh');
    mkdirSync(ssh, { mode: 0o700 });
    const host = (alias: string, sshd: Sshd, extra: string[] = []): string[] => [
      `Host ${alias}`,
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      `  User ${sshd.username}`,
      ...extra,
    ];
    writeFileSync(join(ssh, 'config'), [...host('node1', node, ['  ProxyJump bastion']), ...host('bastion', bastion), ''].join('\n'));
    // Nothing names a key or a known_hosts file: the defaults under $HOME are found.
    copyFileSync(node.clientKeyFile, join(ssh, 'id_ed25519'));
    chmodSync(join(ssh, 'id_ed25519'), 0o600);
    writeFileSync(join(ssh, 'known_hosts'), readFileSync(node.knownHostsFile, 'utf8') + readFileSync(bastion.knownHostsFile, 'utf8'));
    writeFileSync(join(bastion.dir, 'authorized_keys'), readFileSync(`${node.clientKeyFile}.pub`));
  });
  afterAll(async () => {
    await Promise.all([bastion?.cleanup(), node?.cleanup(), echo?.close()]);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('HostName, Port, User, the default identity and known_hosts, and ProxyJump through the bastion', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.SSH_AUTH_SOCK;
    const result = await runCli(['dial', echo.address, '--via', 'ssh://node1'], { input: 'through the config', env });
    expect(result.stderr).toBe('');
    expect(result).toMatchObject({ code: 0, stdout: 'through the config' });
    expect(bastion.log()).toMatch(/Accepted publickey/);
    expect(node.log()).toMatch(/Accepted publickey/);
  });
});
