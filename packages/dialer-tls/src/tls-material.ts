import tls from 'node:tls';
import type { TlsClientOptions } from '@spoke/transport-core';
import { badOption } from './errors.js';
import { watchFile, type WatchedFile } from './watched-file.js';

/**
 * TLS client settings: everything `connectTls` takes, where the CA bundle, the
 * client certificate and its key may also be given as file paths. Files are
 * re-read when they change on disk, so rotated certificates are used by the
 * next dial without a restart.
 */
export interface TlsOptions extends TlsClientOptions {
  /** Path of a PEM CA bundle (instead of `ca`). Default: the system store. */
  caFile?: string;
  /** Path of a PEM client certificate (instead of `cert`). */
  certFile?: string;
  /** Path of a PEM client private key (instead of `key`). */
  keyFile?: string;
}

/** Resolves {@link TlsOptions} into `connectTls` options, reading files that changed. */
export interface TlsMaterial {
  /** Whether a client certificate is configured (for error messages). */
  readonly hasClientCert: boolean;
  /** The options for the next handshake. */
  resolve(): Promise<TlsClientOptions>;
}

/**
 * Checks `options` for conflicts and prepares file watching. Throws
 * `ERR_BAD_OPTION` for an inline value and a file given together, or a
 * certificate without a key.
 */
export function createTlsMaterial(options: TlsOptions): TlsMaterial {
  const pairs: Array<[keyof TlsOptions, keyof TlsOptions]> = [
    ['ca', 'caFile'],
    ['cert', 'certFile'],
    ['key', 'keyFile'],
  ];
  for (const [inline, file] of pairs) {
    if (options[inline] !== undefined && options[file] !== undefined) {
      throw badOption(`Give either ${inline} or ${file}, not both.`);
    }
  }
  const hasCert = options.cert !== undefined || options.certFile !== undefined;
  const hasKey = options.key !== undefined || options.keyFile !== undefined;
  if (hasCert !== hasKey) {
    throw badOption(`A client certificate needs both parts: ${hasCert ? 'key (or keyFile) is missing' : 'cert (or certFile) is missing'}.`);
  }
  if (options.insecureSkipVerify && (options.pin !== undefined || options.fingerprint !== undefined)) {
    throw badOption('insecureSkipVerify turns off every check, pins included; drop one of them (a pin alone is the safe choice).');
  }

  const caFile = options.caFile === undefined ? undefined : watchFile(options.caFile, 'caFile');
  const certFile = options.certFile === undefined ? undefined : watchFile(options.certFile, 'certFile');
  const keyFile = options.keyFile === undefined ? undefined : watchFile(options.keyFile, 'keyFile');
  const { caFile: _ca, certFile: _cert, keyFile: _key, ...base } = options;

  // The last certificate/key pair that matched, keyed by the file versions it came from.
  let goodPair: { versions: string; cert: Buffer | string; key: Buffer | string } | undefined;
  if (options.cert !== undefined && options.key !== undefined) checkPair(options.cert, options.key);

  return {
    hasClientCert: hasCert,
    async resolve() {
      const [ca, cert, key] = await Promise.all([read(caFile), read(certFile), read(keyFile)]);
      const resolved: TlsClientOptions = { ...base };
      if (ca) resolved.ca = ca.data;
      if (hasCert) {
        const pair = clientPair(cert, key);
        resolved.cert = pair.cert;
        resolved.key = pair.key;
      }
      return resolved;
    },
  };

  function clientPair(
    cert: { data: Buffer; version: number } | undefined,
    key: { data: Buffer; version: number } | undefined,
  ): { cert: Buffer | string; key: Buffer | string } {
    const versions = `${cert?.version ?? 0}/${key?.version ?? 0}`;
    if (goodPair?.versions === versions) return goodPair;
    const candidate = {
      versions,
      cert: cert?.data ?? (options.cert as Buffer | string),
      key: key?.data ?? (options.key as Buffer | string),
    };
    try {
      checkPair(candidate.cert, candidate.key);
    } catch (err) {
      // Between the two writes of a rotation the files don't match yet: keep using the last good pair.
      if (goodPair) return goodPair;
      throw err;
    }
    goodPair = candidate;
    return candidate;
  }

  function checkPair(cert: Buffer | string, key: Buffer | string): void {
    try {
      tls.createSecureContext({ cert, key, ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}) });
    } catch (err) {
      throw badOption(
        `The client certificate and key cannot be used together (${(err as Error).message}). Check that ${certFile?.path ?? 'cert'} and ${keyFile?.path ?? 'key'} are one PEM pair${options.passphrase === undefined ? ' and whether the key needs a passphrase' : ''}.`,
        { cause: err },
      );
    }
  }
}

async function read(file: WatchedFile | undefined): Promise<{ data: Buffer; version: number } | undefined> {
  return file === undefined ? undefined : file.read();
}
