import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshThroughProxyCommand } from '../src/testing/openssh-client.js';
import { startSshd, type Sshd } from '../src/testing/sshd.js';

const here = import.meta.dirname;
// The workspace's loader runs TypeScript sources under Node 20 (scripts/ts-loader.mjs).
const tsRegister = join(here, '..', '..', '..', 'scripts', 'ts-register.mjs');

describe("OpenSSH's ssh through a spoke path (ProxyCommand)", () => {
  let bastion: Sshd;
  let target: Sshd;
  beforeAll(async () => {
    [bastion, target] = await Promise.all([startSshd(), startSshd()]);
  });
  afterAll(async () => {
    await Promise.all([bastion?.cleanup(), target?.cleanup()]);
  });

  it('logs in with StrictHostKeyChecking=yes through an SSH dialer hop', async () => {
    const via = `ssh://${bastion.username}@127.0.0.1:${bastion.port}?identity=${bastion.clientKeyFile}&known-hosts=${bastion.knownHostsFile}`;
    const proxy = [
      process.execPath,
      '--conditions=@spoke/source',
      '--import',
      tsRegister,
      join(here, 'proxy-command.ts'),
      '--via',
      `'${via}'`,
      '%h',
      '%p',
    ].join(' ');
    expect((await sshThroughProxyCommand(target, proxy, 'echo ok')).trim()).toBe('ok');
  });
});
