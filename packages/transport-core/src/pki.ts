import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';

/**
 * A tiny X.509 issuer (ECDSA P-256, SHA-256) written on node:crypto alone: the
 * hub's self-signed certificate, the demo cluster's CA, and test PKIs. It is
 * not a general CA: one CN, SANs, basic constraints and key usages.
 */

/** A certificate with its private key, both PEM. */
export interface CertifiedKey {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
  /** Parsed certificate. */
  x509: X509Certificate;
}

/** What to put in a certificate. */
export interface CertificateRequest {
  /** Subject common name. */
  commonName: string;
  /** Subject organization (Kubernetes reads it as the group). */
  organization?: string;
  /** DNS names and IP addresses for subjectAltName. */
  altNames?: string[];
  /** Default: now minus one minute. */
  notBefore?: Date;
  /** Default: `notBefore` plus `days`. */
  notAfter?: Date;
  /** Validity when `notAfter` is not given. Default 365. */
  days?: number;
  /** Extended key usages. Default both server and client auth. */
  usages?: Array<'server' | 'client'>;
}

// ---- DER encoding -------------------------------------------------------

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, body: Buffer): Buffer => tlv(0xa0 | n, body);
function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const trimmed = b.subarray(i);
  return tlv(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}
function bitString(b: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), b]));
}
function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const bytes: number[] = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  // RFC 5280: UTCTime through 2049, GeneralizedTime after.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}
function name(commonName: string, organization?: string): Buffer {
  const rdns = [];
  if (organization !== undefined) rdns.push(set(seq(oid('2.5.4.10'), utf8(organization))));
  rdns.push(set(seq(oid('2.5.4.3'), utf8(commonName))));
  return seq(...rdns);
}
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, '0'), 'hex')));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function keyIdentifier(spki: Buffer): Buffer {
  return createHash('sha1').update(spki).digest();
}

function build(
  req: CertificateRequest,
  subjectKey: KeyObject,
  issuer: { name: Buffer; key: KeyObject; spki: Buffer } | undefined,
  isCa: boolean,
): CertifiedKey {
  const spki = createPublicKey(subjectKey).export({ type: 'spki', format: 'der' });
  const subject = name(req.commonName, req.organization);
  const notBefore = req.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = req.notAfter ?? new Date(notBefore.getTime() + (req.days ?? 365) * 86_400_000);
  const exts: Buffer[] = [
    extension('2.5.29.19', true, isCa ? seq(bool(true)) : seq()),
    // keyUsage: CA → keyCertSign|cRLSign; leaf → digitalSignature|keyEncipherment
    extension('2.5.29.15', true, isCa ? bitString(Buffer.from([0x06]), 1) : bitString(Buffer.from([0xa0]), 5)),
    extension('2.5.29.14', false, octets(keyIdentifier(spki))),
  ];
  if (issuer) exts.push(extension('2.5.29.35', false, seq(tlv(0x80, keyIdentifier(issuer.spki)))));
  if (!isCa) {
    const usages = req.usages ?? ['server', 'client'];
    exts.push(extension('2.5.29.37', false, seq(...usages.map((u) => oid(u === 'server' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2')))));
  }
  const alt = req.altNames ?? [];
  if (alt.length > 0) {
    exts.push(
      extension('2.5.29.17', false, seq(...alt.map((a) => (isIP(a) ? tlv(0x87, ipBytes(a)) : tlv(0x82, Buffer.from(a, 'ascii')))))),
    );
  }
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    issuer?.name ?? subject,
    seq(time(notBefore), time(notAfter)),
    subject,
    spki,
    explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, issuer?.key ?? subjectKey);
  const der = seq(tbs, ECDSA_SHA256, bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  const key = subjectKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { cert, key, x509: new X509Certificate(cert) };
}

function newKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** A certificate authority that can issue leaf certificates. */
export interface CertificateAuthority extends CertifiedKey {
  /** Issues a leaf certificate (server and/or client) signed by this CA. */
  issue(req: CertificateRequest): CertifiedKey;
}

/** Creates a self-signed CA (ECDSA P-256). */
export function createCertificateAuthority(
  req: Omit<CertificateRequest, 'altNames' | 'usages'> = { commonName: 'spoke test CA' },
): CertificateAuthority {
  const caKey = newKey();
  const ca = build(req, caKey, undefined, true);
  const issuer = {
    name: name(req.commonName, req.organization),
    key: createPrivateKey(ca.key),
    spki: createPublicKey(caKey).export({ type: 'spki', format: 'der' }),
  };
  return { ...ca, issue: (leaf) => build(leaf, newKey(), issuer, false) };
}

/** Creates a self-signed leaf certificate (what a hub uses when given none). */
export function createSelfSignedCertificate(req: CertificateRequest): CertifiedKey {
  return build(req, newKey(), undefined, false);
}
