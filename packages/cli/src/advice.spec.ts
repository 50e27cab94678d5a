import { describe, expect, it } from 'vitest';
import { cliAdvice } from './advice.js';

describe('cliAdvice', () => {
  it('speaks flags and URI parameters, never library option names', () => {
    expect(
      cliAdvice('The dial to 10.0.0.1:22 timed out after 200 ms. Check that the target and every hop are up, or raise timeoutMs.'),
    ).toBe('The dial to 10.0.0.1:22 timed out after 200 ms. Check that the target and every hop are up, or raise --connect-timeout.');
    expect(cliAdvice("add the key (e.g. ssh-keyscan …) or pin it with hostKey 'SHA256:abc'.")).toBe(
      'add the key (e.g. ssh-keyscan …) or pin it with host-key=SHA256:abc in the ssh:// URI.',
    );
    expect(cliAdvice('Pass the CA bundle that signed it as the ca option, or pin its key with pin: "sha256:AAA=".')).toBe(
      'Pass the CA bundle that signed it as ca=FILE, or pin its key with pin=sha256:AAA=.',
    );
    expect(cliAdvice('Dial a name the certificate covers, or set the servername option to one of them.')).toBe(
      'Dial a name the certificate covers, or set servername=NAME to one of them.',
    );
    expect(cliAdvice("if the server's key was rotated on purpose, update the pin option.")).toBe(
      "if the server's key was rotated on purpose, update the pinned fingerprint (--hub-fingerprint, fingerprint= or pin= in the URI).",
    );
    const untouched = 'ERR_DIAL_REFUSED: nothing listens at 127.0.0.1:1';
    expect(cliAdvice(untouched)).toBe(untouched);
  });
});
