import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkKnownHosts, hostFieldMatches, knownHostsName, parseKnownHosts } from './known-hosts.js';
import { fingerprint, keyType, parseFingerprint } from './fingerprint.js';

const blob = (type: string, fill: number): Buffer => {
  const t = Buffer.from(type);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(t.length);
  return Buffer.concat([head, t, Buffer.alloc(32, fill)]);
};
const A = blob('ssh-ed25519', 1);
const B = blob('ssh-ed25519', 2);
const line = (hosts: string, key: Buffer, marker = ''): string =>
  `${marker}${marker ? ' ' : ''}${hosts} ${keyType(key)} ${key.toString('base64')}`;

describe('known_hosts', () => {
  it('names non-22 ports in [host]:port form', () => {
    expect(knownHostsName('node-1', 22)).toBe('node-1');
    expect(knownHostsName('node-1', 2222)).toBe('[node-1]:2222');
  });

  it('matches comma lists, wildcards and negations', () => {
    expect(hostFieldMatches('a,b,node-1', 'node-1')).toBe(true);
    expect(hostFieldMatches('*.example.com', 'x.example.com')).toBe(true);
    expect(hostFieldMatches('*.example.com,!bad.example.com', 'bad.example.com')).toBe(false);
    expect(hostFieldMatches('node-?', 'node-7')).toBe(true);
    expect(hostFieldMatches('NODE-1', 'node-1')).toBe(true);
    expect(hostFieldMatches('node-1', '[node-1]:2222')).toBe(false);
  });

  it('matches hashed |1|salt|hmac entries', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.0.0.5]:2222').digest();
    const field = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
    expect(hostFieldMatches(field, '[10.0.0.5]:2222')).toBe(true);
    expect(hostFieldMatches(field, '10.0.0.5')).toBe(false);
  });

  it('decides ok, mismatch, unknown and revoked', () => {
    const entries = parseKnownHosts(
      [`# a comment`, '', line('node-1', A), line('*', B, '@revoked'), line('*.ca', A, '@cert-authority')].join('\n'),
    );
    expect(checkKnownHosts(entries, 'node-1', 22, A).status).toBe('ok');
    expect(checkKnownHosts(entries, 'node-1', 22, blob('ssh-ed25519', 3)).status).toBe('mismatch');
    expect(checkKnownHosts(entries, 'node-2', 22, A).status).toBe('unknown');
    expect(checkKnownHosts(entries, 'node-1', 22, B).status).toBe('revoked');
    const ca = checkKnownHosts(entries, 'x.ca', 22, blob('ssh-ed25519', 4));
    expect(ca.status === 'unknown' && ca.certAuthorities.length).toBe(1);
  });

  it('rejects malformed lines with the file and line number', () => {
    expect(() => parseKnownHosts('ok ssh-ed25519 AAAA\nbroken-line', 'kh')).toThrow(/kh:2/);
    expect(() => parseKnownHosts('@weird h ssh-ed25519 AAAA', 'kh')).toThrow(/unknown marker/);
  });
});

describe('fingerprints', () => {
  it('prints SHA256:<base64 without padding> like ssh-keygen -lf', () => {
    const fp = fingerprint(A);
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(parseFingerprint(`${fp}=`)).toBe(fp);
    expect(parseFingerprint(fp.replace('SHA256', 'sha256'))).toBe(fp);
    expect(parseFingerprint('MD5:aa:bb')).toBeUndefined();
    expect(keyType(A)).toBe('ssh-ed25519');
    expect(keyType(Buffer.alloc(2))).toBe('unknown');
  });
});
