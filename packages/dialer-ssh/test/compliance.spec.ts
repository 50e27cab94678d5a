import { createSshDialer } from '@spoke/dialer-ssh';
import { describeDialer } from '@spoke/transport-core/testing';
import { HANG_HOST, startFakeSshServer } from './ssh2-server.js';
import { fakeServerLogin } from './logins.js';

// The whole suite against an in-process ssh2 server, which turns target resets into
// SSH aborts (CLOSE without EOF) and back. OpenSSH cannot signal a reset at all; the
// sshd run (sshd-compliance.spec.ts) covers everything else against the real thing.
describeDialer('ssh (in-process ssh2 server)', async () => {
  const server = await startFakeSshServer();
  const dialer = createSshDialer(fakeServerLogin(server));
  return {
    dialer,
    hangingTarget: () => ({ target: `${HANG_HOST}:80`, close: async () => {} }),
    unreachable: { target: 'spoke-test.invalid:80', codes: ['ERR_DIAL_UNREACHABLE'] },
    teardown: () => server.close(),
  };
});
