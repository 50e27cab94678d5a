import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { SpokeError } from '@spoke/transport-core';
import { expandSshPath, parseSshConfig, resolveSshHost, type SshConfig, type SshJumpHost } from './ssh-config.js';
import type { SshDialerOptions } from './ssh-dialer.js';

/** Where the config and the default identities are looked for; tests pass their own. */
export interface SshConfigEnvironment {
  /** `~` and `%d`. */
  home: string;
  /** `SSH_AUTH_SOCK` is read from here. */
  env: Readonly<Record<string, string | undefined>>;
  /** `%u`, and the login name when neither the options nor the config give one. */
  localUser: string;
}

/** Dialer options with the config applied; `jump` is the ProxyJump hop the server is reached through. */
export interface ConfiguredSsh {
  options: SshDialerOptions;
  jump?: ConfiguredSsh;
}

/** The identity files OpenSSH tries when the config names none, in its order (those ssh2 can use). */
export const DEFAULT_IDENTITIES: readonly string[] = ['id_rsa', 'id_ecdsa', 'id_ed25519'];

// ProxyJump chains deeper than this are a loop in the config (a jumps through b, b through a).
const MAX_JUMPS = 8;

/** The process's own home, environment and user. */
export function processEnvironment(): SshConfigEnvironment {
  let localUser = process.env.USER ?? 'root';
  try {
    localUser = userInfo().username;
  } catch {
    // no passwd entry: keep $USER
  }
  return { home: homedir(), env: process.env, localUser };
}

/**
 * Applies an ssh_config file (`'auto'`: `~/.ssh/config`, absent is fine; a path:
 * that file, which must exist) to `options`: what the options set wins, then the
 * config, then defaults. Without credentials in the options, the agent at
 * `SSH_AUTH_SOCK` and then the identity files (the config's, else OpenSSH's
 * defaults that exist) are tried, as OpenSSH does. StrictHostKeyChecking never
 * weakens verification. Notes about what was not applied go to `options.warn`.
 */
export function applySshConfig(options: SshDialerOptions, file: string, environment: SshConfigEnvironment): ConfiguredSsh {
  const path = file === 'auto' ? join(environment.home, '.ssh', 'config') : file;
  const config = readConfig(path, file === 'auto');
  const warn = options.warn ?? ((m: string) => process.emitWarning(m, 'SpokeWarning'));
  for (const note of config.notes) warn(`spoke: ${note}`);
  return configure(options, config, environment, warn, 0, undefined);
}

function readConfig(path: string, optional: boolean): SshConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return { sections: [], notes: [] };
    throw new SpokeError('ERR_BAD_OPTION', `Cannot read the ssh_config file ${path}: ${(err as Error).message}. Check the path.`, {
      cause: err,
    });
  }
  return parseSshConfig(text, path);
}

function configure(
  options: SshDialerOptions,
  config: SshConfig,
  environment: SshConfigEnvironment,
  warn: (message: string) => void,
  depth: number,
  jumpOverride: SshJumpHost[] | undefined,
): ConfiguredSsh {
  const alias = options.host;
  const found = resolveSshHost(config, alias);
  const tokens = { alias, host: alias, port: 22, user: environment.localUser, localUser: environment.localUser, home: environment.home };
  const host = found.hostName !== undefined ? expandSshPath(found.hostName, tokens, found.sources.hostname ?? '') : alias;
  const port = options.port ?? found.port ?? 22;
  const username = options.username ?? found.user ?? environment.localUser;
  Object.assign(tokens, { host, port, user: username });
  const out: SshDialerOptions = { ...options, host, port, username };
  delete out.config;

  const explicitAuth = [options.privateKey, options.privateKeyFile, options.agent, options.identityFiles].some((v) => v !== undefined);
  if (!explicitAuth) {
    const sock = environment.env.SSH_AUTH_SOCK;
    if (found.identitiesOnly !== true && sock !== undefined && sock !== '' && isSocket(sock)) out.agent = sock;
    out.identityFiles =
      found.identityFiles.length > 0
        ? found.identityFiles.map((f) => expandSshPath(f, tokens, found.sources.identityfile ?? 'IdentityFile'))
        : // Missing defaults are skipped (and listed in an authentication error, so it says where keys were looked for).
          DEFAULT_IDENTITIES.map((name) => join(environment.home, '.ssh', name));
  }

  const explicitHostKey = [options.hostKey, options.knownHosts, options.knownHostsFile, options.insecureAcceptAnyHostKey].some(
    (v) => v !== undefined,
  );
  const knownFile = found.userKnownHostsFiles?.[0];
  if (!explicitHostKey && knownFile !== undefined) {
    // "none" is /dev/null to OpenSSH: no host is known.
    if (knownFile.toLowerCase() === 'none') out.knownHosts = '';
    else out.knownHostsFile = expandSshPath(knownFile, tokens, found.sources.userknownhostsfile ?? '');
  }
  const strict = found.strictHostKeyChecking;
  if (strict !== undefined && strict !== 'yes' && strict !== 'ask')
    warn(
      `spoke: StrictHostKeyChecking ${strict} (${found.sources.stricthostkeychecking ?? ''}) is ignored for ${alias}: ` +
        'host keys are always verified; add the key to known_hosts or pin it with host-key=.',
    );

  // A dialer given in the options (an earlier --via hop) is like a command-line ProxyCommand: it wins over ProxyJump.
  const jumps = jumpOverride !== undefined && jumpOverride.length > 0 ? jumpOverride : (found.proxyJump ?? []);
  if (options.via !== undefined || jumps.length === 0) return { options: out };
  if (depth >= MAX_JUMPS)
    throw new SpokeError(
      'ERR_BAD_CONFIG',
      `ProxyJump for ${alias} goes through more than ${MAX_JUMPS} hops (${found.sources.proxyjump ?? 'ssh_config'}); the config probably loops.`,
    );
  // OpenSSH reaches the last hop of the list through the ones before it, and the first through its own config.
  const last = jumps[jumps.length - 1] as SshJumpHost;
  const jumpOptions: SshDialerOptions = {
    host: last.host,
    ...(last.port !== undefined ? { port: last.port } : {}),
    ...(last.user !== undefined ? { username: last.user } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
  };
  return { options: out, jump: configure(jumpOptions, config, environment, warn, depth + 1, jumps.slice(0, -1)) };
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}
