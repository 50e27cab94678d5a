import { badUri, readUriFile, type DialerScheme } from '@spoke/transport-core';
import { createSshDialer, type SshDialerOptions } from './ssh-dialer.js';

const USAGE =
  'ssh://[user@]host[:port][?identity=FILE][&passphrase-file=FILE][&agent=SOCKET|env][&known-hosts=FILE][&host-key=SHA256:B64]...[&insecure-accept-any-host-key=true][&config=FILE|none]';

const KNOWN = new Set([
  'identity',
  'passphrase-file',
  'agent',
  'known-hosts',
  'host-key',
  'insecure-accept-any-host-key',
  'keepalive-ms',
  'idle-timeout-ms',
  'config',
]);

/**
 * The `ssh://` dialer URI scheme, for registries built with
 * `createDialerRegistry([sshScheme])` (the CLI's `--via ssh://...`). Each hop
 * is reached through the previous one. `~/.ssh/config` (or `config=FILE`;
 * `config=none` skips it) is applied for the host, the URI winning over it.
 * Without `known-hosts` or `host-key`, the config's UserKnownHostsFile or
 * `~/.ssh/known_hosts` is used; secrets are only ever read from files.
 */
export const sshScheme: DialerScheme = {
  schemes: ['ssh'],
  usage: `${USAGE}\n    SSH tunnel; reads ~/.ssh/config; host keys verified against known-hosts (default ~/.ssh/known_hosts) or pinned host-key fingerprints`,
  create(uri, context) {
    const fail = (why: string): never => {
      throw badUri(uri.href, why, USAGE);
    };
    if (uri.hostname === '') fail('the SSH server host is missing');
    if (uri.password !== '') fail('passwords are not supported in ssh:// URIs; use identity=FILE or agent=');
    if (uri.pathname !== '' && uri.pathname !== '/') fail('ssh:// takes no path');
    for (const key of uri.searchParams.keys()) if (!KNOWN.has(key)) fail(`unknown parameter "${key}"`);
    const q = uri.searchParams;
    const options: SshDialerOptions = {
      host: uri.hostname.replace(/^\[(.*)\]$/, '$1'),
      warn: (m) => context.warn(m),
      config: q.get('config') === 'none' ? false : (q.get('config') ?? 'auto'),
      ...(context.via ? { via: context.via } : {}),
    };
    if (uri.port !== '') options.port = Number(uri.port);
    if (q.get('config') === '') fail('config= needs a file, or none');
    if (uri.username !== '') options.username = decodeURIComponent(uri.username);
    const key = readUriFile(uri, 'identity');
    if (key) options.privateKey = key;
    const passphrase = readUriFile(uri, 'passphrase-file');
    if (passphrase) options.passphrase = passphrase.toString('utf8').replace(/\r?\n$/, '');
    const agent = q.get('agent');
    if (agent !== null) {
      const sock = agent === 'env' || agent === '' ? process.env.SSH_AUTH_SOCK : agent;
      if (!sock) fail('agent=env needs SSH_AUTH_SOCK to be set');
      options.agent = sock;
    }
    const knownHosts = q.get('known-hosts');
    if (knownHosts !== null) options.knownHostsFile = knownHosts;
    // In a query string "+" reads as a space; fingerprints (base64) never contain spaces, so put them back.
    const pins = q.getAll('host-key').map((p) => p.replace(/ /g, '+'));
    if (pins.length > 0) options.hostKey = pins;
    const insecure = q.get('insecure-accept-any-host-key');
    if (insecure !== null) {
      if (insecure !== 'true' && insecure !== 'false') fail('insecure-accept-any-host-key must be true or false');
      options.insecureAcceptAnyHostKey = insecure === 'true';
    }
    for (const [param, field] of [
      ['keepalive-ms', 'keepaliveMs'],
      ['idle-timeout-ms', 'idleTimeoutMs'],
    ] as const) {
      const v = q.get(param);
      if (v === null) continue;
      if (!/^\d+$/.test(v)) fail(`${param} must be a number of milliseconds`);
      options[field] = Number(v);
    }
    return createSshDialer(options);
  },
};
