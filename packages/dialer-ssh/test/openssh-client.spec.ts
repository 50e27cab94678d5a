import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '../src/testing/sshd.js';

const run = promisify(execFile);
const here = import.meta.dirname;

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
      join(here, 'ts-register.mjs'),
      join(here, 'proxy-command.ts'),
      '--via',
      `'${via}'`,
      '%h',
      '%p',
    ].join(' ');
    const { stdout } = await run(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-o',
        `ProxyCommand=${proxy}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        `UserKnownHostsFile=${target.knownHostsFile}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'UpdateHostKeys=no',
        '-i',
        target.clientKeyFile,
        '-p',
        String(target.port),
        `${target.username}@127.0.0.1`,
        'echo ok',
      ],
      { timeout: 60_000 },
    );
    expect(stdout.trim()).toBe('ok');
  });
});
