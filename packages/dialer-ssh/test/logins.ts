import type { SshDialerOptions } from '@spoke/dialer-ssh';
import type { Sshd } from '../src/testing/sshd.js';
import type { FakeSshServer } from './ssh2-server.js';

/** Where and as whom a dialer logs in, and the host key it trusts. */
export type SshLogin = Pick<
  SshDialerOptions,
  'host' | 'port' | 'username' | 'privateKey' | 'privateKeyFile' | 'knownHosts' | 'knownHostsFile'
>;

/** Logs in to the in-process ssh2 server with its client key, trusting exactly its host key. */
export function fakeServerLogin(server: FakeSshServer): SshLogin {
  return {
    host: server.host,
    port: server.port,
    username: server.username,
    privateKey: server.clientKey,
    knownHosts: `[127.0.0.1]:${server.port} ${server.hostKeyLine}`,
  };
}

/** Logs in to a test sshd with the key in its authorized_keys, trusting its known_hosts file. */
export function sshdLogin(sshd: Sshd): SshLogin {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKeyFile: sshd.clientKeyFile,
    knownHostsFile: sshd.knownHostsFile,
  };
}
