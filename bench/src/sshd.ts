import { spawn } from 'node:child_process';
import { freePort, startSshd } from '@spoke/dialer-ssh/testing';

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

/** Starts sshd at LogLevel DEBUG1 (for the `kex: ... cipher:` lines) with its own keys. */
export async function startBenchSshd(): Promise<BenchSshd> {
  const ciphers: string[] = [];
  const waiters: Array<(c: string) => void> = [];
  const sshd = await startSshd({
    logLevel: 'DEBUG1',
    onLog: (text) => {
      for (const m of text.matchAll(/kex: client->server cipher: (\S+)/g)) {
        const waiter = waiters.shift();
        if (waiter) waiter(m[1] as string);
        else ciphers.push(m[1] as string);
      }
    },
  });
  return {
    port: sshd.port,
    username: sshd.username,
    keyFile: sshd.clientKeyFile,
    knownHostsFile: sshd.knownHostsFile,
    nextCipher: () => {
      const c = ciphers.shift();
      return c !== undefined ? Promise.resolve(c) : new Promise((r) => waiters.push(r));
    },
    stop: () => sshd.cleanup(),
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
