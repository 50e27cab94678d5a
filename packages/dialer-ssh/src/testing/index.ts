/**
 * Test kit for SSH: a real OpenSSH sshd launcher with its own keys, config
 * and known_hosts, and OpenSSH's ssh client logging in through a
 * ProxyCommand. Import from `@spoke/dialer-ssh/testing` (plain node APIs, no
 * test framework; needs `/usr/sbin/sshd`, `ssh` and `ssh-keygen`).
 *
 * @packageDocumentation
 */
export { startSshd, keygen, sshKeygenFingerprint, freePort, SSHD_PATH } from './sshd.js';
export type { Sshd, SshdOptions } from './sshd.js';
export { sshThroughProxyCommand } from './openssh-client.js';
export { generateSshKeyPair } from './key-pair.js';
export type { SshKeyPair } from './key-pair.js';
