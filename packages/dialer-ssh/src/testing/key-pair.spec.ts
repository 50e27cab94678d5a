import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateSshKeyPair } from './key-pair.js';

describe('generateSshKeyPair', () => {
  // Raw ssh2 generation fails to parse about once in 256 pairs; 1,000 pairs would hit it ~98 % of the time.
  it('every pair it returns parses, private and public half', () => {
    for (let i = 0; i < 1000; i++) {
      const pair = generateSshKeyPair();
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
    }
  });
});
