/**
 * Test kit for SSH: a real OpenSSH sshd launcher with its own keys, config
 * and known_hosts. Import from `@spoke/dialer-ssh/testing` (plain node APIs,
 * no test framework; needs `/usr/sbin/sshd` and `ssh-keygen`).
 *
 * @packageDocumentation
 */
export { startSshd, keygen, sshKeygenFingerprint, freePort, SSHD_PATH } from './sshd.js';
export type { Sshd, SshdOptions } from './sshd.js';
export { generateSshKeyPair } from './key-pair.js';
export type { SshKeyPair } from './key-pair.js';
