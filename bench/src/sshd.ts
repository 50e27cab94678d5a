import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway OpenSSH sshd on 127.0.0.1 that reports the cipher each connection negotiated. */
export interface BenchSshd {
  port: number;
  username: string;
  /** Client private key (ed25519, no passphrase), authorized for `username`. */
  keyFile: string;
  /** known_hosts naming this server as `[127.0.0.1]:port`. */
  knownHostsFile: string;
  /** Resolves with the client→server cipher of the next connection sshd logs (in connection order). */
  nextCipher(): Promise<string>;
  stop(): Promise<void>;
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'spoke-bench', '-f', file]);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts `/usr/sbin/sshd -D -e` at LogLevel DEBUG1 (for the `kex: ... cipher:` lines) with its own keys. */
export async function startBenchSshd(): Promise<BenchSshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'spoke-bench-sshd-'));
  const hostKey = join(dir, 'host');
  const keyFile = join(dir, 'client');
  keygen(hostKey);
  keygen(keyFile);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyFile}.pub`));
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
    'LogLevel DEBUG1',
  ];
  writeFileSync(join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);

  const proc: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ciphers: string[] = [];
  const waiters: Array<(c: string) => void> = [];
  let log = '';
  await new Promise<void>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`sshd exited (${String(code)}) before listening:\n${log}`)));
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (text: string) => {
      log = (log + text).slice(-65536);
      if (log.includes('Server listening')) resolve();
      for (const m of text.matchAll(/kex: client->server cipher: (\S+)/g)) {
        const waiter = waiters.shift();
        if (waiter) waiter(m[1] as string);
        else ciphers.push(m[1] as string);
      }
    });
  });
  return {
    port,
    username: process.env['USER'] ?? 'root',
    keyFile,
    knownHostsFile,
    nextCipher: () => {
      const c = ciphers.shift();
      return c !== undefined ? Promise.resolve(c) : new Promise((r) => waiters.push(r));
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An OpenSSH `ssh -N -L` forward to `targetPort` through `sshd`. */
export interface OpenSshForward {
  /** The local port that forwards to the target. */
  port: number;
  /** The client→server cipher ssh negotiated. */
  cipher: string;
  stop(): Promise<void>;
}

/** Starts `ssh -v -N -L 127.0.0.1:<free>:127.0.0.1:<targetPort>` (extra options e.g. `-c aes128-gcm@openssh.com`) and waits until it forwards. */
export async function startOpenSshForward(sshd: BenchSshd, targetPort: number, extra: string[] = []): Promise<OpenSshForward> {
  const port = await freePort();
  const args = [
    '-v',
    '-N',
    '-F',
    '/dev/null',
    '-i',
    sshd.keyFile,
    '-p',
    String(sshd.port),
    '-o',
    `UserKnownHostsFile=${sshd.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ExitOnForwardFailure=yes',
    ...extra,
    '-L',
    `127.0.0.1:${port}:127.0.0.1:${targetPort}`,
    `${sshd.username}@127.0.0.1`,
  ];
  const proc = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const cipher = await new Promise<string>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`ssh exited (${String(code)}) before forwarding:\n${log}`)));
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (text: string) => {
      // Keep reading: ssh -v logs every forwarded connection and must never block on a full pipe.
      if (log.length > 65536) return;
      log += text;
      if (log.includes('Entering interactive session')) resolve(/kex: client->server cipher: (\S+)/.exec(log)?.[1] ?? 'unknown');
    });
  });
  return {
    port,
    cipher,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      // ssh -N may ignore SIGTERM while a forwarded socket is half-open.
      const kill = setTimeout(() => proc.kill('SIGKILL'), 2_000);
      proc.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    },
  };
}
