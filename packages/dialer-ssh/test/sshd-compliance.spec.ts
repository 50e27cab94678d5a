import { createSshDialer } from '@spoke/dialer-ssh';
import { describeDialer } from '@spoke/transport-core/testing';
import { startSshd } from '../src/testing/sshd.js';

// The whole suite against a real OpenSSH sshd. RFC 4254 has no reset message and sshd
// answers a TCP RST on either side with an ordinary EOF + CLOSE, so a reset reaches
// the far side as a clean end: both reset capabilities are declared false and the suite
// asserts that fallback instead. Half-close is real (SSH_MSG_CHANNEL_EOF).
describeDialer('ssh (OpenSSH sshd)', async () => {
  const sshd = await startSshd();
  const dialer = createSshDialer({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKeyFile: sshd.clientKeyFile,
    knownHostsFile: sshd.knownHostsFile,
  });
  return {
    dialer,
    capabilities: { resetReachesServer: false, resetReachesClient: false },
    // sshd resolves through the system resolver; .invalid never resolves (RFC 6761).
    unreachable: { target: 'spoke-test.invalid:80', codes: ['ERR_DIAL_UNREACHABLE'] },
    teardown: () => sshd.cleanup(),
  };
});
