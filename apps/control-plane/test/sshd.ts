import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** An OpenSSH sshd on 127.0.0.1 that lets our key forward TCP. */
export interface TestSshd {
  port: number;
  username: string;
  clientKeyFile: string;
  knownHostsFile: string;
  /** Live per-connection sshd processes. */
  sessions(): number;
  /** Stops sshd and its sessions, removes the temp dir. */
  cleanup(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function children(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Starts `/usr/sbin/sshd -D -e` with fresh keys and waits for "Server listening". */
export async function startTestSshd(): Promise<TestSshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'spoke-cp-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const clientKeyFile = join(dir, 'client_ed25519');
  for (const k of [hostKey, clientKeyFile]) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKeyFile}.pub`));
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKey}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PidFile none', 'UsePAM no', 'StrictModes no', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'AllowTcpForwarding yes', 'LogLevel INFO', ''].join('\n'),
  );
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  const proc: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (c: Buffer): void => {
      log += c.toString();
      if (log.includes('Server listening')) {
        proc.stderr?.off('data', onData);
        proc.stderr?.resume();
        resolve();
      }
    };
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`sshd exited (${String(code)}) before listening:\n${log}`)));
  });
  const username = process.env.USER ?? (await run('id', ['-un'])).stdout.trim();
  return {
    port,
    username,
    clientKeyFile,
    knownHostsFile,
    sessions: () => (proc.pid === undefined ? 0 : children(proc.pid).length),
    async cleanup() {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()));
        for (const pid of children(proc.pid)) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // already gone
          }
        }
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
