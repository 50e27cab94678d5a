import { createHmac, timingSafeEqual } from 'node:crypto';
import { SpokeError } from '@spoke/transport-core';

/** One usable line of an OpenSSH known_hosts file. */
export interface KnownHostEntry {
  /** `revoked` for `@revoked` lines, `cert-authority` for `@cert-authority`, otherwise `key`. */
  marker: 'key' | 'revoked' | 'cert-authority';
  /** The host field: a comma list of patterns, or one hashed `|1|salt|hash` entry. */
  hosts: string;
  /** The key type as written (`ssh-ed25519`...). */
  type: string;
  /** The decoded public key blob. */
  key: Buffer;
  /** Where the line came from, for messages: `file:line`. */
  source: string;
}

/**
 * Parses known_hosts text. Blank lines and comments are skipped; a malformed
 * line is an `ERR_BAD_CONFIG` naming the file and line, because silently
 * ignoring a line could silently drop a revocation.
 */
export function parseKnownHosts(text: string, sourceName = 'known_hosts'): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const source = `${sourceName}:${i + 1}`;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = 'key';
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else throw badLine(source, `unknown marker ${m ?? ''}`);
    }
    const [hosts, type, b64] = fields;
    if (hosts === undefined || type === undefined || b64 === undefined)
      throw badLine(source, 'expected "hosts keytype base64-key [comment]"');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw badLine(source, 'the key is not base64');
    entries.push({ marker, hosts, type, key: Buffer.from(b64, 'base64'), source });
  }
  return entries;
}

function badLine(source: string, why: string): SpokeError {
  return new SpokeError(
    'ERR_BAD_CONFIG',
    `Malformed known_hosts line at ${source}: ${why}. Fix or remove the line (ssh-keygen -R host removes a host's lines).`,
  );
}

/**
 * The name OpenSSH looks a host up by: the bare host for port 22, `[host]:port`
 * otherwise (that is how `ssh` writes non-standard ports into known_hosts).
 */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether a known_hosts host field matches `name` (see {@link knownHostsName}). */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) return hashedMatches(field, name);
  // A comma list of patterns; any negated pattern that matches vetoes the line, as in OpenSSH.
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!globMatches(pattern.toLowerCase(), name.toLowerCase())) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  // ['', '1', salt, hash]
  if (parts.length !== 4 || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

// OpenSSH patterns: `*` any run, `?` one character; everything else literal.
function globMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === name;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(name);
}

/** The result of checking a host key against known_hosts entries. */
export type KnownHostsVerdict =
  | { status: 'ok'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'mismatch'; known: KnownHostEntry[] }
  | { status: 'unknown'; certAuthorities: KnownHostEntry[] };

/**
 * Looks `key` up for `host:port` the way OpenSSH does: a revoked key is refused
 * wherever it appears (revocations apply to every host), a listed key for the
 * host is accepted, a host listed only with other keys is a mismatch.
 */
export function checkKnownHosts(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): KnownHostsVerdict {
  const name = knownHostsName(host, port);
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => hostFieldMatches(e.hosts, name));
  const ok = forHost.find((e) => e.marker === 'key' && e.key.equals(key));
  if (ok) return { status: 'ok', entry: ok };
  const known = forHost.filter((e) => e.marker === 'key');
  if (known.length > 0) return { status: 'mismatch', known };
  return { status: 'unknown', certAuthorities: forHost.filter((e) => e.marker === 'cert-authority') };
}
