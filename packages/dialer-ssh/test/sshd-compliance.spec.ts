import { createSshDialer } from '@spoke/dialer-ssh';
import { describeDialer } from '@spoke/transport-core/testing';
import { afterAll, beforeAll } from 'vitest';
import { startSshd, type Sshd } from '../src/testing/sshd.js';
import { sshdLogin } from './logins.js';

// The whole suite against a real OpenSSH sshd. RFC 4254 has no reset message and sshd
// answers a TCP RST on either side with an ordinary EOF + CLOSE, so a reset reaches
// the far side as a clean end: both reset capabilities are declared false and the suite
// asserts that fallback instead. Half-close is real (SSH_MSG_CHANNEL_EOF).
// One sshd for the file; every test gets its own dialer (and so its own SSH connection).
let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(() => sshd?.cleanup());

describeDialer('ssh (OpenSSH sshd)', () => {
  const dialer = createSshDialer(sshdLogin(sshd));
  return {
    dialer,
    capabilities: { resetReachesServer: false, resetReachesClient: false },
    // sshd resolves through the system resolver; .invalid never resolves (RFC 6761).
    unreachable: { target: 'spoke-test.invalid:80', codes: ['ERR_DIAL_UNREACHABLE'] },
  };
});
