/**
 * `@spoke/dialer-ssh`: SSH tunnels on ssh2. One pooled SSH connection per
 * server carries `direct-tcpip` and `direct-streamlocal@openssh.com` channels;
 * host keys are verified against OpenSSH known_hosts files or pinned
 * fingerprints; `createSshTunnelSet` keeps one health-checked tunnel per node.
 *
 * @example
 * ```ts
 * import { createSshDialer } from '@spoke/dialer-ssh';
 * const ssh = createSshDialer({ host: 'node-1', username: 'ops', privateKeyFile: 'id_ed25519', knownHostsFile: 'known_hosts' });
 * const socket = await ssh.dial('127.0.0.1:10250', { signal: AbortSignal.timeout(10_000) });
 * ```
 * @module index
 */
export { createSshDialer } from './ssh-dialer.js';
export type { SshDialer, SshDialerOptions } from './ssh-dialer.js';
export type { SshAuthOptions } from './auth.js';
export type { HostKeyOptions } from './host-verifier.js';
export { SshStream } from './ssh-stream.js';
export { fingerprint, keyType, parseFingerprint } from './fingerprint.js';
export { parseKnownHosts, checkKnownHosts, knownHostsName, hostFieldMatches } from './known-hosts.js';
export type { KnownHostEntry, KnownHostsVerdict } from './known-hosts.js';
export { mapClientError, mapChannelOpenError, OPEN_FAILURE } from './errors.js';
export type { ConnectContext } from './errors.js';
export { createSshTunnelSet } from './tunnel-set.js';
export type { SshTunnelSet, SshTunnelSetOptions, SshTunnelNode, SshHealthCheck, SshTunnelEvent, SshTunnelInfo } from './tunnel-set.js';
export { sshScheme } from './ssh-scheme.js';
