import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Sshd } from './sshd.js';

const run = promisify(execFile);

/**
 * Runs `command` on `server` with OpenSSH's own `ssh` client, which reaches
 * the server through `proxyCommand` (ssh expands `%h` and `%p` in it). The
 * server's host key is checked strictly against its known_hosts file; no user
 * config, agent or other identity is used. Resolves to what the command
 * printed; rejects with ssh's stderr if the login fails.
 */
export async function sshThroughProxyCommand(server: Sshd, proxyCommand: string, command: string, timeoutMs = 60_000): Promise<string> {
  const options = {
    ProxyCommand: proxyCommand,
    StrictHostKeyChecking: 'yes',
    UserKnownHostsFile: server.knownHostsFile,
    GlobalKnownHostsFile: '/dev/null',
    BatchMode: 'yes',
    IdentitiesOnly: 'yes',
    UpdateHostKeys: 'no',
  };
  const args = ['-F', '/dev/null', ...Object.entries(options).flatMap(([name, value]) => ['-o', `${name}=${value}`])];
  args.push('-i', server.clientKeyFile, '-p', String(server.port), `${server.username}@${server.host}`, command);
  const { stdout } = await run('ssh', args, { timeout: timeoutMs });
  return stdout;
}
