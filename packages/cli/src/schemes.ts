import { createDialerRegistry, type DialerRegistry, type DialerScheme } from '@spoke/transport-core';

/**
 * A backend of the `spoke` binary: the URI schemes it handles and the package
 * that implements them, imported only when one of those schemes is used (an
 * agent that never dials over SSH does not carry ssh2).
 */
export interface CliBackend {
  /** URI schemes handled, without the colon (the same list as the loaded schemes'). */
  readonly schemes: readonly string[];
  /** Imports the backend package. */
  load(): Promise<readonly DialerScheme[]>;
}

/**
 * Every backend the `spoke` binary understands, besides transport-core's
 * built-in `tcp://`: TLS and HTTP CONNECT, SSH, Konnectivity, and the spoke hub
 * client (`spoke+wss://`), in the order help lists them. A new backend is one
 * entry here.
 */
export const CLI_BACKENDS: readonly CliBackend[] = [
  {
    schemes: ['tls', 'http-connect', 'http-connect+tls', 'http-connect+unix'],
    load: async () => {
      const { tlsScheme, httpConnectScheme } = await import('@spoke/dialer-tls');
      return [tlsScheme, httpConnectScheme];
    },
  },
  { schemes: ['ssh'], load: async () => [(await import('@spoke/dialer-ssh')).sshScheme] },
  {
    schemes: ['konnectivity+grpc', 'konnectivity+grpc+unix', 'konnectivity+connect', 'konnectivity+connect+unix'],
    load: async () => [(await import('@spoke/dialer-konnectivity')).konnectivityScheme],
  },
  { schemes: ['spoke+wss', 'spoke+ws'], load: async () => [(await import('@spoke/hub')).spokeScheme] },
];

/**
 * Imports the backends that handle any of `schemes` (every backend when
 * `schemes` is omitted) and returns their schemes in {@link CLI_BACKENDS} order.
 */
export async function loadCliSchemes(schemes?: ReadonlySet<string>): Promise<DialerScheme[]> {
  const wanted = CLI_BACKENDS.filter((backend) => !schemes || backend.schemes.some((name) => schemes.has(name)));
  return (await Promise.all(wanted.map((backend) => backend.load()))).flat();
}

/** A registry with every backend of {@link CLI_BACKENDS} (and `tcp://`), plus any `extra` schemes of an embedding tool. */
export async function createCliRegistry(extra: readonly DialerScheme[] = []): Promise<DialerRegistry> {
  return createDialerRegistry([...(await loadCliSchemes()), ...extra]);
}

const URI_SCHEME = /([A-Za-z][A-Za-z0-9+.-]*):\/\//g;
const KNOWN = new Set(['tcp', ...CLI_BACKENDS.flatMap((backend) => backend.schemes)]);

/**
 * The backend schemes a command line names, so a command loads only those.
 * `undefined` (load every backend) when a `--via`/`--route` value names no
 * known scheme: the "not supported" error then lists every accepted form.
 */
export function schemesNamedIn(argv: readonly string[]): Set<string> | undefined {
  const named = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    for (const match of word.matchAll(URI_SCHEME)) named.add((match[1] ?? '').toLowerCase());
    const flag = /^--(via|route)(=|$)/.exec(word);
    if (!flag) continue;
    const value = flag[2] === '=' ? word.slice(flag[0].length) : (argv[i + 1] ?? '');
    // --route is CIDR=URI; a URI without "//" (`ssh:host`) still goes to its backend for the error.
    const uri = flag[1] === 'route' ? value.slice(value.indexOf('=') + 1) : value;
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
    if (scheme === undefined || !KNOWN.has(scheme)) return undefined;
    named.add(scheme);
  }
  return named;
}
