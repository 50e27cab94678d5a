import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshDialer, sshScheme, type SshDialer } from '@spoke/dialer-ssh';
import { SpokeError, createDialerRegistry, type Dialer } from '@spoke/transport-core';
import { echo, readAll, serveTcp, type ServedTarget } from '@spoke/transport-core/testing';
import { applySshConfig, type SshConfigEnvironment } from '../src/config-options.js';
import { sshDialerFromConfig } from '../src/ssh-dialer.js';
import { freePort, keygen, startSshd, type Sshd } from '../src/testing/sshd.js';

const run = promisify(execFile);

describe('~/.ssh/config against a real sshd', () => {
  let sshd: Sshd;
  let svc: ServedTarget;
  let dir: string;
  let agent: ChildProcess | undefined;
  const open: Dialer[] = [];
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
  };
  const track = <D extends Dialer>(d: D): D => {
    open.push(d);
    return d;
  };
  /** A home directory holding `.ssh/config` (and whatever `files` copies into `.ssh`). */
  const makeHome = (config: string, files: Record<string, string> = {}): string => {
    const home = mkdtempSync(join(dir, 'home-'));
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh', 'config'), config);
    for (const [name, from] of Object.entries(files)) {
      copyFileSync(from, join(home, '.ssh', name));
      chmodSync(join(home, '.ssh', name), 0o600);
    }
    return home;
  };
  const node1 = (extra: string[] = []): string =>
    [
      'Host node1',
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      `  User ${sshd.username}`,
      `  UserKnownHostsFile ${sshd.knownHostsFile}`,
      ...extra,
      '',
    ].join('\n');
  const env = (home: string, vars: Record<string, string> = {}): SshConfigEnvironment => ({ home, env: vars, localUser: 'nobody-here' });
  const roundTrip = async (d: Dialer, text: string): Promise<string> => {
    const s = await d.dial(svc.target, { signal: AbortSignal.timeout(20_000) });
    s.end(text);
    return (await readAll(s)).toString();
  };
  const failure = async (d: Dialer): Promise<SpokeError> => {
    const err: unknown = await d.dial(svc.target, { signal: AbortSignal.timeout(20_000) }).then(
      (s) => {
        s.destroy();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SpokeError);
    return err as SpokeError;
  };

  beforeAll(async () => {
    sshd = await startSshd();
    svc = await serveTcp(echo);
    dir = mkdtempSync(join(tmpdir(), 'spoke-ssh-config-'));
  });
  afterAll(async () => {
    await Promise.all(open.map((d) => d.close()));
    agent?.kill();
    await svc?.close();
    await sshd?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('createSshDialer({ config }) dials node1 with HostName, Port, User, IdentityFile and UserKnownHostsFile', async () => {
    const home = makeHome(node1([`  IdentityFile ${sshd.clientKeyFile}`]));
    const d = track(createSshDialer({ host: 'node1', config: join(home, '.ssh', 'config'), warn }));
    expect(d.hop).toBe(`ssh://${sshd.username}@127.0.0.1:${sshd.port}`);
    expect(await roundTrip(d, 'configured')).toBe('configured');
  });

  it('ssh://node1?config=FILE: the URI wins over the config (port), the config over defaults', async () => {
    const closed = await freePort();
    const home = makeHome(node1([`  IdentityFile ${sshd.clientKeyFile}`]).replace(`Port ${sshd.port}`, `Port ${closed}`));
    const registry = createDialerRegistry([sshScheme]);
    const d = track(registry.chain([`ssh://node1:${sshd.port}?config=${join(home, '.ssh', 'config')}`], { warn }));
    expect(await roundTrip(d, 'uri wins')).toBe('uri wins');
  });

  it('ProxyJump becomes via: a chain of two jump hosts, each configured from the same file', async () => {
    const before = sshd.sessions();
    const home = makeHome(
      [
        node1([`  IdentityFile ${sshd.clientKeyFile}`, '  ProxyJump jump1,jump2']),
        'Host jump1 jump2',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        `  User ${sshd.username}`,
        `  IdentityFile ${sshd.clientKeyFile}`,
        `  UserKnownHostsFile ${sshd.knownHostsFile}`,
        '',
      ].join('\n'),
    );
    const d = track(createSshDialer({ host: 'node1', config: join(home, '.ssh', 'config'), warn }));
    expect(await roundTrip(d, 'jumped')).toBe('jumped');
    // The same sshd serves as both jump hosts and node1: three SSH connections.
    expect(sshd.sessions() - before).toBe(3);
    await d.close();
    expect(sshd.sessions()).toBe(before);
  });

  it('finds the default identity ~/.ssh/id_ed25519 when nothing names one', async () => {
    const home = makeHome(node1(), { id_ed25519: sshd.clientKeyFile });
    const d = track(sshDialerFromConfig(applySshConfig({ host: 'node1', warn }, 'auto', env(home))));
    expect(await roundTrip(d, 'default identity')).toBe('default identity');
  });

  it('names the identities it tried (and skipped) when none is accepted, without key material', async () => {
    const stranger = await keygen(join(dir, 'stranger'));
    const locked = await keygen(join(dir, 'locked'), 'secret-pass', 'ecdsa');
    const home = makeHome(node1(), { id_rsa: stranger, id_ecdsa: locked });
    const d = track(sshDialerFromConfig(applySshConfig({ host: 'node1', warn }, 'auto', env(home))));
    const err = await failure(d);
    expect(err.code).toBe('ERR_AUTH_FAILED');
    expect(err.message).toContain(`publickey ${join(home, '.ssh', 'id_rsa')}`);
    expect(err.message).toContain(`${join(home, '.ssh', 'id_ecdsa')} skipped (encrypted; no passphrase given)`);
    expect(err.message).not.toMatch(/PRIVATE KEY|secret-pass/);
  });

  it('uses the ssh-agent at SSH_AUTH_SOCK first; IdentitiesOnly yes leaves it out', async () => {
    const sock = join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      agent?.stdout?.on('data', (c: Buffer) => {
        if (c.toString().includes('SSH_AUTH_SOCK')) resolve();
      });
      agent?.once('exit', (code) => reject(new Error(`ssh-agent exited ${String(code)}`)));
    });
    await run('ssh-add', [sshd.clientKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    const home = makeHome(node1());
    const withAgent = track(sshDialerFromConfig(applySshConfig({ host: 'node1', warn }, 'auto', env(home, { SSH_AUTH_SOCK: sock }))));
    expect(await roundTrip(withAgent, 'agent')).toBe('agent');

    const only = makeHome(node1(['  IdentitiesOnly yes']));
    const without = track(sshDialerFromConfig(applySshConfig({ host: 'node1', warn }, 'auto', env(only, { SSH_AUTH_SOCK: sock }))));
    const err = await failure(without);
    expect(err.code).toBe('ERR_AUTH_FAILED');
    expect(err.message).not.toContain(`agent ${sock}`);
    expect(err.message).toContain(`${join(only, '.ssh', 'id_ed25519')} skipped (no such file)`);
  });

  it('StrictHostKeyChecking no does not weaken verification, and says so', async () => {
    const empty = join(dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const home = makeHome(
      node1([`  IdentityFile ${sshd.clientKeyFile}`, '  StrictHostKeyChecking no']).replace(sshd.knownHostsFile, empty),
    );
    warnings.length = 0;
    const d: SshDialer = track(createSshDialer({ host: 'node1', config: join(home, '.ssh', 'config'), warn }));
    expect((await failure(d)).code).toBe('ERR_HOST_KEY_UNKNOWN');
    expect(warnings.some((w) => /StrictHostKeyChecking no .* is ignored/.test(w))).toBe(true);
  });

  it('a ProxyJump loop is ERR_BAD_CONFIG; a missing explicit config file is ERR_BAD_OPTION', () => {
    const home = makeHome('Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n');
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        return (err as SpokeError).code;
      }
      return undefined;
    };
    expect(codeOf(() => createSshDialer({ host: 'a', config: join(home, '.ssh', 'config'), warn }))).toBe('ERR_BAD_CONFIG');
    expect(codeOf(() => createSshDialer({ host: 'a', config: join(home, 'nope'), warn }))).toBe('ERR_BAD_OPTION');
  });
});
