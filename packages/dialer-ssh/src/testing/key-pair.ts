import ssh2 from 'ssh2';

/** An OpenSSH-format key pair. */
export interface SshKeyPair {
  private: string;
  public: string;
}

/**
 * An ed25519 key pair from ssh2's generator that ssh2 can also read back.
 * ssh2 1.17 strips leading zero bytes off the public key, so about one pair in
 * 256 fails `parseKey` ("Malformed OpenSSH private/public key", mscdex/ssh2
 * #1390, #1513); such a pair is thrown away and another one drawn.
 */
export function generateSshKeyPair(): SshKeyPair {
  for (let attempt = 0; attempt < 32; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error('ssh2 produced 32 unreadable ed25519 key pairs in a row');
}
