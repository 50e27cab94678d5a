import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SpokeError } from './errors.js';
import type { Dialer } from './dialer.js';
import { createNetDialer, viaOrDirect } from './net-dialer.js';

/** What a scheme handler gets besides the URI. */
export interface SchemeContext {
  /** The dialer for the previous (outer) hop; undefined for the first hop (direct TCP). */
  via?: Dialer;
  /** Reports a security-relevant warning (insecure modes) to the user, e.g. on stderr. */
  warn(message: string): void;
}

/** Turns one URI form (`ssh://...`, `tls://...`) into a Dialer. Backends export one of these. */
export interface DialerScheme {
  /** URI schemes handled, without the colon: `["ssh"]`, `["konnectivity+grpc", "konnectivity+grpc+unix"]`. */
  readonly schemes: readonly string[];
  /** The accepted forms, one per line, shown in usage errors. */
  readonly usage: string;
  /** Builds the dialer; throws `ERR_BAD_URI` (with the accepted forms) for a malformed URI. */
  create(uri: URL, context: SchemeContext): Dialer;
}

/** A set of schemes, so the CLI and apps accept exactly the backends they have installed. */
export interface DialerRegistry {
  /** Adds a scheme handler; a scheme registered twice is an error. */
  register(scheme: DialerScheme): void;
  /** Builds a dialer for one URI (hop). */
  create(uri: string, context: SchemeContext): Dialer;
  /** Builds a chain: the first URI is the outermost hop, each next hop is reached through the previous one. */
  chain(uris: readonly string[], context: Omit<SchemeContext, 'via'>): Dialer;
  /** Every accepted form, for help and usage errors. */
  usage(): string;
}

/** `tcp://` — direct connections (the default when no `--via` is given). */
export const tcpScheme: DialerScheme = {
  schemes: ['tcp'],
  usage: 'tcp://                                  direct TCP / unix sockets (the default)',
  create(uri, context) {
    if (uri.host !== '' || (uri.pathname !== '' && uri.pathname !== '/')) {
      throw badUri(uri.href, 'tcp:// takes no host or path: it means "connect directly"', tcpScheme.usage);
    }
    return context.via ?? createNetDialer();
  },
};

/** Creates a registry, `tcp://` included. */
export function createDialerRegistry(schemes: readonly DialerScheme[] = []): DialerRegistry {
  const table = new Map<string, DialerScheme>();
  const registry: DialerRegistry = {
    register(scheme) {
      for (const name of scheme.schemes) {
        if (table.has(name))
          throw new SpokeError('ERR_BAD_OPTION', `The URI scheme ${name}:// is registered twice; register each backend once.`);
        table.set(name, scheme);
      }
    },
    create(text, context) {
      let uri: URL;
      try {
        uri = new URL(text);
      } catch {
        throw badUri(text, 'it is not a URI', registry.usage());
      }
      const name = uri.protocol.slice(0, -1);
      const scheme = table.get(name);
      if (!scheme) throw badUri(text, `the scheme ${name}:// is not supported here`, registry.usage());
      return scheme.create(uri, context);
    },
    chain(uris, context) {
      let via: Dialer | undefined;
      for (const uri of uris) via = registry.create(uri, { ...context, ...(via ? { via } : {}) });
      return viaOrDirect(via);
    },
    usage() {
      return [...new Set(table.values())].map((s) => s.usage).join('\n');
    },
  };
  registry.register(tcpScheme);
  for (const s of schemes) registry.register(s);
  return registry;
}

/** A usage error for a malformed URI, listing the accepted forms. */
export function badUri(uri: string, why: string, forms: string): SpokeError {
  return new SpokeError('ERR_BAD_URI', `Invalid dialer URI ${JSON.stringify(redactUri(uri))}: ${why}. Accepted forms:\n${forms}`);
}

/** The URI with any password and secret-looking query values masked, safe for messages and logs. */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/token|secret|password|passphrase/i.test(key) && !/-file$/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.href;
  } catch {
    return uri.replace(/(token|secret|password|passphrase)=[^&]*/gi, '$1=***');
  }
}

// Query parameters that name a file holding a secret (key=, identity=, token-file=, passphrase-file=, ...).
const SECRET_PARAM = /key|identity|token|passphrase|password|secret|authorization/i;

/**
 * Checks who else may use a file holding a secret (a token, a private key), as
 * OpenSSH does for its keys. Writable by group or others: refused
 * (ERR_BAD_OPTION), since whoever can write it can swap the credential.
 * Readable by group or others: the returned warning, for the caller to show.
 * A file that cannot be stat'ed passes (the read that follows reports it);
 * Windows has no such mode bits and passes too.
 */
export function checkSecretFile(path: string, what: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
  const shown = `${what} ${path} (mode ${mode.toString(8).padStart(4, '0')})`;
  if ((mode & 0o022) !== 0)
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `${shown} is writable by group or others, so anyone of them could replace the secret in it: refused. Run chmod 600 ${path}.`,
    );
  if ((mode & 0o044) !== 0) return `${shown} is readable by group or others; run chmod 600 ${path}.`;
  return undefined;
}

/**
 * Reads a query parameter naming a file (absolute, or relative to the working directory) and returns its content.
 * A parameter naming a secret (key=, identity=, token-file=, ...) goes through {@link checkSecretFile}; its
 * warning is a process warning (stderr), as a URI carries no logger.
 */
export function readUriFile(uri: URL, name: string): Buffer | undefined {
  const path = uri.searchParams.get(name);
  if (path === null || path === '') return undefined;
  const full = resolve(process.cwd(), path);
  if (SECRET_PARAM.test(name)) {
    const warning = checkSecretFile(full, `${name}=`);
    if (warning !== undefined) process.emitWarning(warning, { code: 'SPOKE_SECRET_FILE_MODE' });
  }
  try {
    return readFileSync(full);
  } catch (err) {
    throw new SpokeError(
      'ERR_BAD_URI',
      `Cannot read ${name}=${path} (${full}) from ${redactUri(uri.href)}: ${(err as Error).message}. Check the path.`,
      { cause: err },
    );
  }
}
