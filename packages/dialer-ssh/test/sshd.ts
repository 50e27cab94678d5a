import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A real OpenSSH sshd on 127.0.0.1, with its own keys in a temp dir. */
export interface Sshd {
  host: '127.0.0.1';
  port: number;
  /** The user tests log in as (the current user). */
  username: string;
  /** Temp dir holding keys and config. */
  dir: string;
  /** Client private key file (unencrypted ed25519) listed in authorized_keys. */
  clientKeyFile: string;
  /** Host public key line, `ssh-ed25519 AAAA...`. */
  hostKeyLine: string;
  /** Host key fingerprint as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** A known_hosts file listing this server (in `[127.0.0.1]:port` form). */
  knownHostsFile: string;
  /** Number of live per-connection sshd processes (one per SSH connection). */
  sessions(): number;
  /** Stops sshd and its session processes (SIGTERM), waits for exit. */
  stop(): Promise<void>;
  /** Kills sshd and every session process at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts sshd again on the same port with the same keys and config. */
  restart(): Promise<void>;
  /** Stops sshd and removes the temp dir. */
  cleanup(): Promise<void>;
}

/** Options of {@link startSshd}. */
export interface SshdOptions {
  /** Extra sshd_config lines (e.g. `PermitOpen 127.0.0.1:1`). */
  config?: string[];
  /** Extra public key files to authorize. */
  authorize?: string[];
}

/** Generates a key pair; returns the private key path (the public one is `path.pub`). */
export async function keygen(path: string, passphrase = '', type = 'ed25519'): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'spoke-test', '-f', path]);
  return path;
}

/** The fingerprint line `ssh-keygen -lf` prints for a key file: its second field. */
export async function sshKeygenFingerprint(pubFile: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-lf', pubFile]);
  return stdout.trim().split(/\s+/)[1] ?? '';
}

/** A 127.0.0.1 port free right now (sshd refuses `Port 0`). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * Starts `/usr/sbin/sshd -D -e -f <config>` on a free 127.0.0.1 port and waits
 * for "Server listening" on its stderr. stop/kill also signal the
 * per-connection session processes (children of the listener).
 */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  // sshd's privilege separation directory; absent on machines that never ran sshd.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'spoke-sshd-'));
  const username = process.env.USER ?? (await run('id', ['-un'])).stdout.trim();
  const hostKey = await keygen(join(dir, 'host_ed25519'));
  const clientKeyFile = await keygen(join(dir, 'client_ed25519'));
  const authorized = [readFileSync(`${clientKeyFile}.pub`, 'utf8'), ...(options.authorize ?? []).map((f) => readFileSync(f, 'utf8'))];
  writeFileSync(join(dir, 'authorized_keys'), authorized.join(''));
  const port = await freePort();
  const config = [
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
    'AllowStreamLocalForwarding yes',
    ...(options.config ?? []),
  ];
  const configFile = join(dir, 'sshd_config');
  writeFileSync(configFile, config.join('\n') + '\n');
  const hostKeyLine = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKeyLine}\n`);
  const fp = await sshKeygenFingerprint(`${hostKey}.pub`);

  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    // INFO is needed for the "Server listening" line we wait for.
    const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', configFile, '-o', 'LogLevel=INFO'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
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
      proc.once('error', reject);
    });
  };
  const signalGroup = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    // Session processes call setsid(), so a group signal misses them: signal each child by pid.
    for (const pid of childPids(proc.pid)) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    proc.kill(signal);
    await exited;
  };
  await launch();
  const sshd: Sshd = {
    sessions: () => (child?.pid === undefined ? 0 : childPids(child.pid).length),
    host: '127.0.0.1',
    port,
    username,
    dir,
    clientKeyFile,
    hostKeyLine,
    fingerprint: fp,
    knownHostsFile,
    stop: () => signalGroup('SIGTERM'),
    kill: () => signalGroup('SIGKILL'),
    restart: async () => {
      await signalGroup('SIGTERM');
      await launch();
    },
    async cleanup() {
      await signalGroup('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sshd;
}

/** Child processes of `pid`, from /proc (no procps needed). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the ")" that closes the command name: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // the process exited meanwhile
    }
  }
  return out;
}
