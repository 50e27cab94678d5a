import { SpokeError } from '@spoke/transport-core';
import { hostFieldMatches } from './known-hosts.js';

/** One keyword line of an ssh_config file: the keyword lower-cased, its arguments unquoted. */
export interface SshConfigLine {
  keyword: string;
  args: string[];
  /** `file:line`, for messages. */
  source: string;
}

/** A `Host` (or `Match`) section; the lines before the first one form a section that applies to every host. */
export interface SshConfigSection {
  /** `Host` patterns (`!` marks a negated one); undefined for the leading section and for `Match all`. */
  patterns?: string[];
  /** A `Match` section with criteria other than `all`: never applied (see {@link SshConfig.notes}). */
  unsupported?: boolean;
  lines: SshConfigLine[];
}

/** A parsed ssh_config file. */
export interface SshConfig {
  sections: SshConfigSection[];
  /** Lines that were read but deliberately not acted on (`Include`, `Match host ...`), as `file:line: why`. */
  notes: string[];
}

/**
 * Parses ssh_config text (the format of `~/.ssh/config`). Keywords are
 * case-insensitive and take `key value` or `key=value`; arguments may be
 * double-quoted; `#` starts a comment. A line that cannot be read is an
 * `ERR_BAD_CONFIG` naming the file and line: guessing could connect somewhere
 * the user did not mean.
 */
export function parseSshConfig(text: string, sourceName = 'ssh_config'): SshConfig {
  const sections: SshConfigSection[] = [{ lines: [] }];
  const notes: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const source = `${sourceName}:${i + 1}`;
    const words = splitLine(lines[i] ?? '', source);
    const first = words.shift();
    if (first === undefined) continue;
    // `key=value` and `key = value`: the first "=" ends the keyword.
    const eq = first.indexOf('=');
    const keyword = (eq >= 0 ? first.slice(0, eq) : first).toLowerCase();
    if (eq >= 0 && eq < first.length - 1) words.unshift(first.slice(eq + 1));
    else if (eq < 0 && words[0]?.startsWith('=')) {
      const rest = (words.shift() as string).slice(1);
      if (rest !== '') words.unshift(rest);
    }
    if (keyword === '') throw badLine(source, 'a keyword is missing');
    if (keyword === 'host') {
      if (words.length === 0) throw badLine(source, 'Host needs at least one pattern');
      sections.push({ patterns: words, lines: [] });
    } else if (keyword === 'match') {
      const all = words.length === 1 && words[0]?.toLowerCase() === 'all';
      if (!all) notes.push(`${source}: Match ${words.join(' ')} is not evaluated; its section is not applied`);
      sections.push(all ? { lines: [] } : { unsupported: true, lines: [] });
    } else if (keyword === 'include') {
      notes.push(`${source}: Include is not supported; ${words.join(' ')} not read`);
    } else {
      if (words.length === 0) throw badLine(source, `${first} needs a value`);
      (sections[sections.length - 1] as SshConfigSection).lines.push({ keyword, args: words, source });
    }
  }
  return { sections, notes };
}

// Splits on whitespace; "double quotes" group words; an unquoted word starting with # ends the line.
function splitLine(line: string, source: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw badLine(source, 'a quote is not closed');
      words.push(line.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    let end = i;
    while (end < line.length && !/[\s"]/.test(line[end] as string)) end++;
    words.push(line.slice(i, end));
    i = end;
  }
  return words;
}

function badLine(source: string, why: string): SpokeError {
  return new SpokeError('ERR_BAD_CONFIG', `Malformed ssh_config line at ${source}: ${why}. Fix the line (see man ssh_config).`);
}

/** What a config says for one host, first obtained value winning as in OpenSSH. */
export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  /** Every IdentityFile, in order, tokens not yet expanded. */
  identityFiles: string[];
  identitiesOnly?: boolean;
  /** ProxyJump hops in order; `[]` for `ProxyJump none`. */
  proxyJump?: SshJumpHost[];
  /** UserKnownHostsFile paths, tokens not yet expanded; `none` is kept as is. */
  userKnownHostsFiles?: string[];
  strictHostKeyChecking?: string;
  /** Where each value came from, for messages: keyword → `file:line`. */
  sources: Record<string, string>;
}

/** One ProxyJump hop: `[user@]host[:port]`. */
export interface SshJumpHost {
  host: string;
  user?: string;
  port?: number;
}

/** Whether OpenSSH `Host` patterns select `host`: some pattern matches and no negated one does (known_hosts rules). */
export function hostPatternsMatch(patterns: readonly string[], host: string): boolean {
  return hostFieldMatches(patterns.join(','), host);
}

/**
 * Collects the settings for `host` (the name as given, before HostName): the
 * sections are read top to bottom and the first value found for a keyword is
 * kept, except IdentityFile, whose values add up. Keywords spoke does not use
 * are ignored.
 */
export function resolveSshHost(config: SshConfig, host: string): SshHostConfig {
  const out: SshHostConfig = { identityFiles: [], sources: {} };
  for (const section of config.sections) {
    if (section.unsupported) continue;
    if (section.patterns && !hostPatternsMatch(section.patterns, host)) continue;
    for (const { keyword, args, source } of section.lines) {
      const value = args[0] as string;
      if (keyword === 'identityfile') {
        out.identityFiles.push(value);
        continue;
      }
      if (keyword in out.sources) continue;
      switch (keyword) {
        case 'hostname':
          out.hostName = value;
          break;
        case 'user':
          out.user = value;
          break;
        case 'port':
          out.port = parsePort(value, source);
          break;
        case 'identitiesonly':
          out.identitiesOnly = parseYesNo(value, source);
          break;
        case 'proxyjump':
          out.proxyJump = value.toLowerCase() === 'none' ? [] : value.split(',').map((hop) => parseJumpHost(hop, source));
          break;
        case 'userknownhostsfile':
          out.userKnownHostsFiles = args;
          break;
        case 'stricthostkeychecking':
          out.strictHostKeyChecking = value.toLowerCase();
          break;
        default:
          continue;
      }
      out.sources[keyword] = source;
    }
  }
  return out;
}

function parsePort(value: string, source: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) throw badLine(source, `Port must be 1-65535, got ${JSON.stringify(value)}`);
  return port;
}

function parseYesNo(value: string, source: string): boolean {
  const v = value.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw badLine(source, `expected yes or no, got ${JSON.stringify(value)}`);
}

/** Parses one ProxyJump hop, `[user@]host[:port]` or `[user@][v6addr][:port]` (ssh:// URLs too). */
export function parseJumpHost(text: string, source: string): SshJumpHost {
  const m = /^(?:ssh:\/\/)?(?:([^@]+)@)?(\[[^\]]+\]|[^:@[\]]+)(?::(\d+))?\/?$/.exec(text.trim());
  if (!m) throw badLine(source, `ProxyJump hop ${JSON.stringify(text)} is not [user@]host[:port]`);
  const [, user, host, port] = m;
  return {
    host: (host as string).replace(/^\[(.*)\]$/, '$1'),
    ...(user !== undefined ? { user } : {}),
    ...(port !== undefined ? { port: parsePort(port, source) } : {}),
  };
}

/** Values for the `%` tokens OpenSSH expands in IdentityFile and UserKnownHostsFile. */
export interface SshTokens {
  /** %h: the host name connected to (after HostName). */
  host: string;
  /** %n: the host name as given. */
  alias: string;
  /** %p */
  port: number;
  /** %r: the remote user. */
  user: string;
  /** %u: the local user. */
  localUser: string;
  /** %d and `~`: the local home directory. */
  home: string;
}

/** Expands a leading `~` and the tokens %h %n %p %r %u %d %%; an unknown token is an `ERR_BAD_CONFIG`. */
export function expandSshPath(path: string, tokens: SshTokens, source: string): string {
  const tilde = path === '~' || path.startsWith('~/') ? tokens.home + path.slice(1) : path;
  return tilde.replace(/%(.)?/g, (_whole, t: string | undefined) => {
    switch (t) {
      case '%':
        return '%';
      case 'h':
        return tokens.host;
      case 'n':
        return tokens.alias;
      case 'p':
        return String(tokens.port);
      case 'r':
        return tokens.user;
      case 'u':
        return tokens.localUser;
      case 'd':
        return tokens.home;
      default:
        throw badLine(source, `the token %${t ?? ''} in ${JSON.stringify(path)} is not supported (use %h %n %p %r %u %d or %%)`);
    }
  });
}
