import { createHash, X509Certificate } from 'node:crypto';

/** `sha256:<base64>` of a certificate's SubjectPublicKeyInfo: the form `pin` options take. */
export function spkiPin(cert: X509Certificate | string | Buffer): string {
  const x = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const spki = x.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('base64')}`;
}

/** `sha256:<hex>` of a certificate's DER: the form `fingerprint` options take. */
export function certFingerprint(cert: X509Certificate | string | Buffer): string {
  const x = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  return `sha256:${createHash('sha256').update(x.raw).digest('hex')}`;
}
