import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { onAbort } from './abort.js';
import { SpokeError, abortReasonAsError, systemCode } from './errors.js';
import { certFingerprint, spkiPin } from './fingerprint.js';

/** How to verify and authenticate a TLS connection. */
export interface TlsClientOptions {
  /** PEM CA bundle(s) to trust instead of the system store. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** PEM client certificate (mTLS). */
  cert?: string | Buffer;
  /** PEM client private key (mTLS). */
  key?: string | Buffer;
  /** Passphrase of `key`. */
  passphrase?: string;
  /** Name to send as SNI and to check the certificate against. Default: the target host. */
  servername?: string;
  /** `sha256:<base64>` of the leaf's SubjectPublicKeyInfo. When set, it replaces CA and name checks. */
  pin?: string | string[];
  /** `sha256:<hex>` of the leaf certificate's DER. When set, it replaces CA and name checks. */
  fingerprint?: string | string[];
  /** Lowest TLS version. Default `TLSv1.2`. */
  minVersion?: tls.SecureVersion;
  /** ALPN protocols to offer. */
  alpn?: string[];
  /** Skip all verification (dangerous; callers should warn). Default false. */
  insecureSkipVerify?: boolean;
}

/** What the TLS layer is connecting to, for SNI, name checks and messages. */
export interface TlsPeer {
  host: string;
  hop?: string;
}

/**
 * Runs a TLS client handshake over an already connected stream and verifies
 * the peer: CA chain, host name, validity and optional SPKI pin / certificate
 * fingerprint. Failures are SpokeErrors (`ERR_CERT_UNTRUSTED`,
 * `ERR_CERT_HOSTNAME`, `ERR_CERT_EXPIRED`, `ERR_CERT_PIN`) that name the
 * presented certificate and the option that fixes them. The stream is
 * destroyed on failure or abort.
 */
export function connectTls(socket: Duplex, peer: TlsPeer, options: TlsClientOptions, signal?: AbortSignal): Promise<tls.TLSSocket> {
  const pins = toList(options.pin);
  const fingerprints = toList(options.fingerprint).map((f) => f.toLowerCase());
  const servername = options.servername ?? (isIP(peer.host) ? undefined : peer.host);
  const checkedName = options.servername ?? peer.host;
  const hop = peer.hop ?? 'tls';
  return new Promise((resolve, reject) => {
    let secure: tls.TLSSocket;
    // TLS takes over a net.Socket's handle; mark it so SpokeSocket never tries a RST on it.
    (socket as unknown as Record<symbol, unknown>)[Symbol.for('@spoke/transport-core/handle-wrapped')] = true;
    try {
      secure = tls.connect({
        socket,
        ...(servername !== undefined ? { servername } : {}),
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        ...(options.cert !== undefined ? { cert: options.cert } : {}),
        ...(options.key !== undefined ? { key: options.key } : {}),
        ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
        ...(options.alpn !== undefined ? { ALPNProtocols: options.alpn } : {}),
        minVersion: options.minVersion ?? 'TLSv1.2',
        // We verify ourselves after the handshake so errors can name the certificate.
        rejectUnauthorized: false,
        checkServerIdentity: (host, cert) => tls.checkServerIdentity(checkedName || host, cert),
      });
    } catch (err) {
      // Bad PEM material throws synchronously from tls.connect.
      socket.destroy();
      reject(
        new SpokeError(
          'ERR_BAD_OPTION',
          `Invalid TLS material for ${peer.host}: ${(err as Error).message}. Check the ca/cert/key PEM files.`,
          { cause: err, target: peer.host, hop },
        ),
      );
      return;
    }
    mapSocketErrors(secure, peer.host, hop);
    let detach = (): void => {};
    const fail = (err: Error): void => {
      detach();
      secure.destroy();
      socket.destroy();
      reject(err);
    };
    secure.once('error', (err: Error) => fail(err));
    secure.once('secureConnect', () => {
      const problem = options.insecureSkipVerify ? undefined : verify(secure);
      if (problem) {
        fail(problem);
        return;
      }
      detach();
      secure.removeAllListeners('error');
      resolve(secure);
    });
    detach = onAbort(signal, (reason) => fail(abortReasonAsError(reason)));
  });

  function verify(secure: tls.TLSSocket): SpokeError | undefined {
    const raw = secure.getPeerX509Certificate();
    if (raw === undefined)
      return new SpokeError('ERR_CERT_UNTRUSTED', `The server at ${peer.host} presented no certificate. Check that it really serves TLS.`, {
        target: peer.host,
        hop,
      });
    const presented = describe(raw);
    if (pins.length > 0 || fingerprints.length > 0) {
      const pin = spkiPin(raw);
      const fp = certFingerprint(raw);
      if (pins.includes(pin) || fingerprints.includes(fp)) return undefined;
      return new SpokeError(
        'ERR_CERT_PIN',
        `The certificate of ${peer.host} (${presented}) does not match the pinned ${pins.length > 0 ? `key ${pins.join(', ')}` : `fingerprint ${fingerprints.join(', ')}`}. ` +
          `It has pin ${pin} and fingerprint ${fp}; if the server's key was rotated on purpose, update the pin option.`,
        { target: peer.host, hop },
      );
    }
    if (secure.authorized) return undefined;
    const reason = String(secure.authorizationError ?? 'unknown');
    if (reason === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new SpokeError(
        'ERR_CERT_HOSTNAME',
        `The certificate of ${peer.host} (${presented}) is not valid for the name "${checkedName}" (it covers ${raw.subjectAltName ?? 'no subjectAltName'}). ` +
          `Dial a name the certificate covers, or set the servername option to one of them.`,
        { target: peer.host, hop },
      );
    }
    if (reason === 'CERT_HAS_EXPIRED' || reason === 'CERT_NOT_YET_VALID') {
      return new SpokeError(
        'ERR_CERT_EXPIRED',
        `The certificate of ${peer.host} (${presented}) is ${reason === 'CERT_HAS_EXPIRED' ? 'expired' : 'not yet valid'}: valid from ${raw.validFrom} to ${raw.validTo}. ` +
          `Renew the server's certificate (or fix this machine's clock).`,
        { target: peer.host, hop },
      );
    }
    return new SpokeError(
      'ERR_CERT_UNTRUSTED',
      `The certificate of ${peer.host} (${presented}, issued by ${oneLine(raw.issuer)}) is not trusted (${reason}). ` +
        `Pass the CA bundle that signed it as the ca option, or pin its key with pin: "${spkiPin(raw)}".`,
      { target: peer.host, hop },
    );
  }
}

// OpenSSL alerts a TLS server sends when it refuses our client certificate (or the lack of one), whatever the
// protocol version in the code's prefix (ERR_SSL_SSLV3_ALERT_..., ERR_SSL_TLSV1_ALERT_..., ERR_SSL_TLSV13_ALERT_...).
const CLIENT_CERT_ALERT =
  /^ERR_SSL_\w+_ALERT_(CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|ACCESS_DENIED)$/;

/** Whether an OpenSSL error code is a TLS server refusing our client certificate (or its absence). */
export function isClientCertRefusal(code: string | undefined): boolean {
  return code !== undefined && CLIENT_CERT_ALERT.test(code);
}

/**
 * Maps a TLS-layer failure to a SpokeError: a server refusing our client
 * certificate → ERR_AUTH_FAILED, other handshake failures → ERR_PROTOCOL,
 * socket errors as usual.
 */
export function tlsErrorToSpoke(err: unknown, host: string, hop: string): SpokeError {
  if (err instanceof SpokeError) return err;
  const code = systemCode(err) ?? '';
  const detail = err instanceof Error ? err.message : String(err);
  if (isClientCertRefusal(code)) {
    return new SpokeError(
      'ERR_AUTH_FAILED',
      `The server at ${host} refused the TLS client authentication (${code}). Pass a client cert/key signed by a CA it trusts.`,
      { cause: err, target: host, hop },
    );
  }
  if (code.startsWith('ERR_SSL_') || (code === 'ECONNRESET' && /handshake|TLS/i.test(detail))) {
    return new SpokeError(
      'ERR_PROTOCOL',
      `The TLS handshake with ${host} failed (${code}: ${detail}). Check that it serves TLS and supports the configured minVersion.`,
      { cause: err, target: host, hop },
    );
  }
  return SpokeError.from(err, { target: host, hop });
}

// Node emits some TLS errors straight from the wrap rather than through destroy(): map both paths.
function mapSocketErrors(secure: tls.TLSSocket, host: string, hop: string): void {
  const emit = secure.emit.bind(secure) as (event: string | symbol, ...args: unknown[]) => boolean;
  secure.emit = ((event: string | symbol, ...args: unknown[]): boolean =>
    event === 'error' ? emit(event, tlsErrorToSpoke(args[0], host, hop)) : emit(event, ...args)) as typeof secure.emit;
}

function describe(cert: X509Certificate): string {
  return `subject "${oneLine(cert.subject)}", sha256 fingerprint ${cert.fingerprint256}`;
}

function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}

function toList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
