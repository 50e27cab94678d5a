import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';

const COMMANDS = ['dial', 'forward', 'proxy', 'hub', 'agent', 'konnectivity', 'egress', 'bench'];

describe('spoke: help, version, exit codes', () => {
  it('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^spoke \d+\.\d+\.\d+\n$/);
  });

  it('--help lists the commands and every accepted URI form', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const name of COMMANDS) expect(result.stdout).toContain(`\n  ${name} `);
    for (const form of [
      'tcp://',
      'tls://',
      'http-connect://',
      'http-connect+tls://',
      'http-connect+unix://',
      'ssh://',
      'konnectivity+grpc+unix://',
      'konnectivity+connect://',
      'spoke+wss://',
    ])
      expect(result.stdout).toContain(form);
  });

  it.each(COMMANDS)('%s --help shows its usage, exit 0', async (name) => {
    const result = await runCli([name, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: spoke ${name}`);
    // Commands that take --via list the accepted URI forms.
    if (['dial', 'forward', 'proxy'].includes(name)) expect(result.stdout).toContain('ssh://[user@]host');
    expect(result.stderr).toBe('');
  });

  it('`spoke help dial` is `spoke dial --help`', async () => {
    const result = await runCli(['help', 'dial']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: spoke dial');
  });

  it('no command, an unknown command or an unknown flag exit 2 with usage', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('missing command');
    const unknown = await runCli(['teleport']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "teleport"');
    const flag = await runCli(['dial', '--frobnicate', '127.0.0.1:1']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--frobnicate'[\s\S]*Usage: spoke dial/);
  });

  it('a malformed --via URI exits 2 and lists the accepted forms', async () => {
    const result = await runCli(['dial', '127.0.0.1:9', '--via', 'gopher://x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ERR_BAD_URI');
    expect(result.stderr).toContain('Accepted forms:');
    expect(result.stderr).toContain('ssh://[user@]host');
    const ssh = await runCli(['dial', '127.0.0.1:9', '--via', 'ssh://ops:hunter2@bastion:22']);
    expect(ssh.code).toBe(2);
    expect(ssh.stderr).toContain('ERR_BAD_URI');
    // The password never reaches the terminal.
    expect(ssh.stderr).not.toContain('hunter2');
  });

  it('a bad target exits 2 with the target forms', async () => {
    const result = await runCli(['dial', 'no-port-here']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ERR_BAD_TARGET');
    expect(result.stderr).toContain('unix:/path');
  });

  it('bad --log-level / --log-format values are usage errors', async () => {
    expect((await runCli(['--log-level', 'chatty', 'dial', '127.0.0.1:9'])).code).toBe(2);
    expect((await runCli(['dial', '127.0.0.1:9', '--log-format=xml'])).code).toBe(2);
  });

  it('--log-format json turns a runtime failure into one JSON line with the code, exit 1', async () => {
    const result = await runCli(['--log-format', 'json', 'dial', '127.0.0.1:1']);
    expect(result.code).toBe(1);
    const line = JSON.parse(result.stderr.trim()) as { level: string; code: string; msg: string };
    expect(line.level).toBe('error');
    expect(line.code).toBe('ERR_DIAL_REFUSED');
  });
});

describe('spoke: security warnings', () => {
  it('an insecure hop option is announced on stderr', async () => {
    const result = await runCli(['dial', '127.0.0.1:1', '--via', 'tls://?insecure-skip-verify=true']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/WARN .*verif/i);
  });
});
