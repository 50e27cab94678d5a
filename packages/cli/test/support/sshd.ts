import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** An OpenSSH sshd on 127.0.0.1 with its own host key, client key and known_hosts in a temp dir. */
export interface TestSshd {
  port: number;
  user: string;
  /** Private key authorized to log in. */
  identity: string;
  /** known_hosts naming this server as `[127.0.0.1]:port`. */
  knownHosts: string;
  close(): Promise<void>;
}

async function keypair(path: string): Promise<void> {
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'spoke-cli-test', '-f', path]);
}

// sshd refuses Port 0, so take a port the kernel just handed out.
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** Starts `/usr/sbin/sshd -D -e` and resolves once it logs "Server listening". */
export async function startTestSshd(): Promise<TestSshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'spoke-cli-sshd-'));
  const hostKey = join(dir, 'host_key');
  const identity = join(dir, 'id_ed25519');
  await Promise.all([keypair(hostKey), keypair(identity)]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identity}.pub`));
  const port = await freePort();
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PidFile none',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  const user = process.env.USER ?? (await exec('id', ['-un'])).stdout.trim();
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (!log.includes('Server listening')) return;
      child.stderr?.off('data', onData);
      child.stderr?.resume();
      resolve();
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`sshd exited (${String(code)}):\n${log}`)));
    child.once('error', reject);
  });
  return {
    port,
    user,
    identity,
    knownHosts,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
