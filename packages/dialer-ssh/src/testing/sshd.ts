import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where `sshd` lives on Debian/Ubuntu; absolute because sshd re-execs itself. */
export const SSHD_PATH = '/usr/sbin/sshd';

/** A real OpenSSH sshd with its own keys and config in a directory. */
export interface Sshd {
  /** The address sshd listens on. */
  host: string;
  port: number;
  /** The user tests log in as (the current user). */
  username: string;
  /** Directory holding keys, config and known_hosts. */
  dir: string;
  /** Client private key file (unencrypted ed25519) listed in authorized_keys. */
  clientKeyFile: string;
  /** Host public key line, `ssh-ed25519 AAAA...`. */
  hostKeyLine: string;
  /** Host key fingerprint as `ssh-keygen -lf` prints it (`SHA256:...`). */
  fingerprint: string;
  /** A known_hosts file listing this server (`[host]:port`, or plain `host` on port 22). */
  knownHostsFile: string;
  /** The last few KiB of sshd's stderr (where a refused login explains itself). */
  log(): string;
  /** Number of live per-connection sshd processes (one per SSH connection). */
  sessions(): number;
  /** Stops sshd and its session processes (SIGTERM), waits for exit. */
  stop(): Promise<void>;
  /** Kills sshd and every session process at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts sshd again on the same port with the same keys and config. */
  restart(): Promise<void>;
  /** Stops sshd and removes the directory (unless the caller passed `dir`). */
  cleanup(): Promise<void>;
}

/** Options of {@link startSshd}. */
export interface SshdOptions {
  /** Listen address. Default `127.0.0.1`. */
  host?: string;
  /** Listen port. Default: a port free right now on `host` (sshd refuses `Port 0`). */
  port?: number;
  /** Extra sshd_config lines (e.g. `PermitOpen 127.0.0.1:1`). */
  config?: string[];
  /** Extra public key files to authorize. */
  authorize?: string[];
  /** sshd's `LogLevel` (`-o LogLevel=`): INFO or more verbose, since start-up waits for "Server listening". Default `INFO`. */
  logLevel?: 'INFO' | 'VERBOSE' | 'DEBUG' | 'DEBUG1' | 'DEBUG2' | 'DEBUG3';
  /** Receives every chunk sshd writes to stderr, across restarts. */
  onLog?: (text: string) => void;
  /** Existing private host key (its `.pub` next to it). Default: a fresh ed25519 key. */
  hostKeyFile?: string;
  /** Directory for keys and config, kept by `cleanup()`. Default: a fresh temp dir that `cleanup()` removes. */
  dir?: string;
  /** Argv run before sshd, e.g. `['/usr/sbin/ip', 'netns', 'exec', name]`; it must exec sshd (same pid). */
  commandPrefix?: string[];
  /** Called with each spawned sshd process (e.g. to kill it when the host process exits). */
  spawned?: (child: ChildProcess) => void;
  /** How long to wait for "Server listening". Default 30 s. */
  startTimeoutMs?: number;
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

/** A port free right now on `host` (sshd refuses `Port 0`). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * Starts `/usr/sbin/sshd -D -e -f <config>` (on a free 127.0.0.1 port unless
 * told otherwise) and waits for "Server listening" on its stderr. stop/kill
 * also signal the per-connection session processes (children of the listener).
 */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  // sshd's privilege separation directory; absent on machines that never ran sshd.
  try {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  } catch {
    // not root: sshd runs unprivileged and does not chroot
  }
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'spoke-sshd-'));
  try {
    return await launchSshd(dir, ownDir, options);
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function launchSshd(dir: string, ownDir: boolean, options: SshdOptions): Promise<Sshd> {
  const host = options.host ?? '127.0.0.1';
  const username = process.env.USER ?? (await run('id', ['-un'])).stdout.trim();
  const hostKey = options.hostKeyFile ?? (await keygen(join(dir, 'host_ed25519')));
  const clientKeyFile = await keygen(join(dir, 'client_ed25519'));
  const authorized = [readFileSync(`${clientKeyFile}.pub`, 'utf8'), ...(options.authorize ?? []).map((f) => readFileSync(f, 'utf8'))];
  writeFileSync(join(dir, 'authorized_keys'), authorized.map((k) => (k.endsWith('\n') ? k : `${k}\n`)).join(''), { mode: 0o600 });
  const port = options.port ?? (await freePort(host));
  const config = [
    `Port ${port}`,
    `ListenAddress ${host}`,
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
  writeFileSync(knownHostsFile, `${port === 22 ? host : `[${host}]:${port}`} ${hostKeyLine}\n`);
  const fingerprint = await sshKeygenFingerprint(`${hostKey}.pub`);
  const logLevel = options.logLevel ?? 'INFO';
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const [command, ...prefixArgs] = [...(options.commandPrefix ?? []), SSHD_PATH];
  const argv = [...prefixArgs, '-D', '-e', '-f', configFile, '-o', `LogLevel=${logLevel}`];

  let child: ChildProcess | undefined;
  let log = '';
  const launch = async (): Promise<void> => {
    const proc = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    options.spawned?.(proc);
    // Read stderr for as long as sshd runs: a full pipe would block it, and the tail explains refusals.
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (text: string) => {
      log = (log + text).slice(-4096);
      options.onLog?.(text);
    });
    let seen = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`sshd did not report "Server listening" within ${startTimeoutMs} ms:\n${seen}`)),
          startTimeoutMs,
        );
        const onData = (text: string): void => {
          seen += text;
          if (seen.includes('Server listening')) done();
        };
        const onExit = (code: number | null): void => done(new Error(`sshd exited (${String(code)}) before listening:\n${seen}`));
        const done = (err?: Error): void => {
          clearTimeout(timer);
          proc.stderr?.off('data', onData);
          proc.off('exit', onExit);
          proc.off('error', done);
          if (err) reject(err);
          else resolve();
        };
        proc.stderr?.on('data', onData);
        proc.once('exit', onExit);
        proc.once('error', done);
      });
    } catch (err) {
      await signal('SIGKILL');
      throw err;
    }
  };
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    // Session processes call setsid(), so a group signal misses them: signal each child by pid.
    for (const pid of childPids(proc.pid)) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
    proc.kill(sig);
    await exited;
  };
  await launch();
  return {
    host,
    port,
    username,
    dir,
    clientKeyFile,
    hostKeyLine,
    fingerprint,
    knownHostsFile,
    log: () => log,
    sessions: () => (child?.pid === undefined ? 0 : childPids(child.pid).length),
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    restart: async () => {
      await signal('SIGTERM');
      await launch();
    },
    async cleanup() {
      await signal('SIGTERM');
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
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
