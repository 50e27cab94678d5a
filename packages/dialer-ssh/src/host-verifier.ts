import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SpokeError } from '@spoke/transport-core';
import { fingerprint, hostKeyAlgorithmsFor, keyType, parseFingerprint } from './fingerprint.js';
import { checkKnownHosts, knownHostsName, parseKnownHosts, type KnownHostEntry } from './known-hosts.js';

/** How the server's host key is checked. Exactly one source is used (first set wins, in this order). */
export interface HostKeyOptions {
  /** Pinned fingerprint(s) as `ssh-keygen -lf` prints them: `SHA256:<base64>`. */
  hostKey?: string | readonly string[];
  /** known_hosts content (OpenSSH format). */
  knownHosts?: string | Buffer;
  /** Path of a known_hosts file. Default, when no other source is set: `~/.ssh/known_hosts`. */
  knownHostsFile?: string;
  /** Accept any host key. Insecure: anyone on the path can impersonate the server. Warns once. */
  insecureAcceptAnyHostKey?: boolean;
}

/** A host key check bound to one server. */
export interface HostVerifier {
  /** Returns undefined when `key` (SSH wire format) is acceptable, otherwise the coded refusal. */
  verify(key: Buffer): SpokeError | undefined;
  /** Host key algorithms to try first (those of keys already known), so a known key is negotiated. */
  readonly preferredAlgorithms: readonly string[];
  /** Human-readable source, e.g. `known_hosts file /root/.ssh/known_hosts`. */
  readonly description: string;
}

let warned = false;

/**
 * Builds the host key check for `host:port`. Files are read once, here: a
 * dialer is long-lived and the connection may be re-established many times.
 */
export function createHostVerifier(host: string, port: number, options: HostKeyOptions, warn: (message: string) => void): HostVerifier {
  const server = `${host}:${port}`;
  if (options.hostKey !== undefined) {
    const pins = (typeof options.hostKey === 'string' ? [options.hostKey] : [...options.hostKey]).map((p) => {
      const fp = parseFingerprint(p);
      if (!fp)
        throw new SpokeError(
          'ERR_BAD_OPTION',
          `hostKey ${JSON.stringify(p)} is not a fingerprint. Use the SHA256:<base64> form that \`ssh-keygen -lf <host key .pub>\` prints.`,
        );
      return fp;
    });
    return {
      preferredAlgorithms: [],
      description: `pinned fingerprint ${pins.join(', ')}`,
      verify(key) {
        const fp = fingerprint(key);
        if (pins.includes(fp)) return undefined;
        return new SpokeError(
          'ERR_HOST_KEY_MISMATCH',
          `The SSH server ${server} presented host key ${keyType(key)} ${fp}, which is not the pinned ${pins.join(' or ')}. ` +
            'Someone may be impersonating the server; if the key was changed on purpose, pin the new fingerprint.',
          { hop: `ssh://${server}` },
        );
      },
    };
  }
  if (options.insecureAcceptAnyHostKey) {
    if (!warned) {
      warned = true;
      warn(
        'spoke: insecureAcceptAnyHostKey is set: SSH host keys are NOT verified, so the connection can be intercepted. Use knownHostsFile or hostKey instead.',
      );
    }
    return { preferredAlgorithms: [], description: 'no verification (insecureAcceptAnyHostKey)', verify: () => undefined };
  }
  let entries: KnownHostEntry[];
  let description: string;
  if (options.knownHosts !== undefined) {
    entries = parseKnownHosts(String(options.knownHosts), 'knownHosts');
    description = 'the knownHosts option';
  } else {
    const file = options.knownHostsFile ?? join(homedir(), '.ssh', 'known_hosts');
    entries = parseKnownHosts(readKnownHostsFile(file, options.knownHostsFile !== undefined), file);
    description = `known_hosts file ${file}`;
  }
  const name = knownHostsName(host, port);
  const probe = checkKnownHosts(entries, host, port, Buffer.alloc(0));
  const preferredAlgorithms = probe.status === 'mismatch' ? [...new Set(probe.known.flatMap((e) => hostKeyAlgorithmsFor(e.type)))] : [];
  return {
    preferredAlgorithms,
    description,
    verify(key) {
      const fp = fingerprint(key);
      const type = keyType(key);
      const verdict = checkKnownHosts(entries, host, port, key);
      const hop = `ssh://${server}`;
      switch (verdict.status) {
        case 'ok':
          return undefined;
        case 'revoked':
          return new SpokeError(
            'ERR_HOST_KEY_REVOKED',
            `The SSH server ${server} presented host key ${type} ${fp}, which is marked @revoked (${verdict.entry.source}). Do not connect; ask the server's administrator for its current key.`,
            { hop },
          );
        case 'mismatch':
          return new SpokeError(
            'ERR_HOST_KEY_MISMATCH',
            `The host key of the SSH server ${server} has CHANGED: it presented ${type} ${fp}, but ${description} lists ` +
              `${verdict.known.map((e) => `${e.type} ${fingerprint(e.key)} (${e.source})`).join(', ')}. ` +
              `Someone may be impersonating the server. If the change is expected, remove the old entry (ssh-keygen -R '${name}') and add the new key.`,
            { hop },
          );
        case 'unknown': {
          const ca =
            verdict.certAuthorities.length > 0
              ? ` Note: @cert-authority lines (${verdict.certAuthorities.map((e) => e.source).join(', ')}) match this host, but host certificates are not supported; list the host key itself or pin its fingerprint.`
              : '';
          return new SpokeError(
            'ERR_HOST_KEY_UNKNOWN',
            `The SSH server ${server} presented host key ${type} ${fp}, which ${description} does not list under '${name}'. ` +
              `Verify the fingerprint out of band, then add the key (e.g. ssh-keyscan -p ${port} ${host} >> known_hosts) or pin it with hostKey '${fp}'.${ca}`,
            { hop },
          );
        }
      }
    },
  };
}

function readKnownHostsFile(file: string, explicit: boolean): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    // A missing default file just means "no host known yet": every key is then unknown.
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new SpokeError('ERR_BAD_OPTION', `Cannot read known_hosts file ${file}: ${(err as Error).message}. Check knownHostsFile.`, {
      cause: err,
    });
  }
}
