import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spokeCommandLine } from './support/cli-process.js';
import { sshThroughProxyCommand, startSshd, type Sshd } from '@spoke/dialer-ssh/testing';

describe('OpenSSH ssh logs in through `spoke dial` as its ProxyCommand', () => {
  let bastion: Sshd;
  let node: Sshd;
  beforeAll(async () => {
    [bastion, node] = await Promise.all([startSshd(), startSshd()]);
  });
  afterAll(async () => {
    await Promise.all([bastion?.cleanup(), node?.cleanup()]);
  });

  it('ssh → spoke dial %h %p --via ssh://bastion → sshd, host keys checked at both hops', async () => {
    const via = `ssh://${bastion.username}@127.0.0.1:${bastion.port}?identity=${bastion.clientKeyFile}&known-hosts=${bastion.knownHostsFile}`;
    const proxyCommand = spokeCommandLine(['dial', '%h', '%p', '--via', `'${via}'`]);
    const stdout = await sshThroughProxyCommand(node, proxyCommand, 'echo logged-in-through-spoke');
    expect(stdout.trim()).toBe('logged-in-through-spoke');
  });
});
