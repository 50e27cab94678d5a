import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spokeCommandLine } from './support/cli-process.js';
import { startTestSshd, type TestSshd } from './support/sshd.js';

const exec = promisify(execFile);

describe('OpenSSH ssh logs in through `spoke dial` as its ProxyCommand', () => {
  let bastion: TestSshd;
  let node: TestSshd;
  beforeAll(async () => {
    [bastion, node] = await Promise.all([startTestSshd(), startTestSshd()]);
  });
  afterAll(async () => {
    await Promise.all([bastion?.close(), node?.close()]);
  });

  it('ssh → spoke dial %h %p --via ssh://bastion → sshd, host keys checked at both hops', async () => {
    const via = `ssh://${bastion.user}@127.0.0.1:${bastion.port}?identity=${bastion.identity}&known-hosts=${bastion.knownHosts}`;
    const proxyCommand = spokeCommandLine(['dial', '%h', '%p', '--via', `'${via}'`]);
    const { stdout } = await exec(
      'ssh',
      [
        '-F', '/dev/null',
        '-o', `ProxyCommand=${proxyCommand}`,
        '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${node.knownHosts}`,
        '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'BatchMode=yes',
        '-o', 'IdentitiesOnly=yes',
        '-o', 'UpdateHostKeys=no',
        '-i', node.identity,
        '-p', String(node.port),
        `${node.user}@127.0.0.1`,
        'echo logged-in-through-spoke',
      ],
      { timeout: 60_000 },
    );
    expect(stdout.trim()).toBe('logged-in-through-spoke');
  });
});
