import { createHash } from 'node:crypto';

/**
 * The fingerprint of an SSH public key exactly as `ssh-keygen -lf` prints it:
 * `SHA256:` followed by the unpadded base64 of the SHA-256 of the key blob.
 *
 * @param blob - the public key in SSH wire format (what known_hosts base64-encodes)
 */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The key type named inside an SSH wire-format key blob (`ssh-ed25519`,
 * `ecdsa-sha2-nistp256`, `ssh-rsa`...), or `"unknown"` for a malformed blob.
 */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return 'unknown';
  return blob.toString('latin1', 4, 4 + len);
}

/**
 * Normalises a pinned fingerprint (`SHA256:<base64>`, with or without padding,
 * any case for the prefix). Returns undefined when the text is not one.
 */
export function parseFingerprint(text: string): string | undefined {
  const m = /^sha256:([A-Za-z0-9+/]{43})=?$/i.exec(text.trim());
  return m ? `SHA256:${m[1]}` : undefined;
}

/**
 * The signature algorithms (ssh2's `serverHostKey` names) that a host key of
 * `type` can be verified with. RSA keys sign with three algorithms.
 */
export function hostKeyAlgorithmsFor(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}
