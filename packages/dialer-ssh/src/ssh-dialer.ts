import { PassThrough } from 'node:stream';
import type { Algorithms, Client, ClientChannel } from 'ssh2';
import {
  SpokeError,
  dialTarget,
  dialerClosedError,
  runDial,
  viaOrDirect,
  type Dialer,
  type DialOptions,
  type Target,
} from '@spoke/transport-core';
import { checkTimeout, createBackoff, type BackoffOptions } from '@spoke/transport-core/utils';
import { createCredentials, type SshAuthOptions } from './auth.js';
import { applySshConfig, processEnvironment, type ConfiguredSsh } from './config-options.js';
import { mapChannelOpenError } from './errors.js';
import { createHostVerifier, type HostKeyOptions } from './host-verifier.js';
import { SshConnection } from './ssh-connection.js';
import { SshStream } from './ssh-stream.js';

/** Options of {@link createSshDialer}. */
export interface SshDialerOptions extends SshAuthOptions, HostKeyOptions {
  /** The SSH server. */
  host: string;
  /** Its port. Default 22. */
  port?: number;
  /** The user to log in as. Default: `$USER`, else `root`. */
  username?: string;
  /** Keepalive interval (OpenSSH ServerAliveInterval). Default 15000 ms; 0 turns it off. */
  keepaliveMs?: number;
  /** Unanswered keepalives before the connection is declared dead (ServerAliveCountMax). Default 3. */
  keepaliveCountMax?: number;
  /** Bound on TCP connect + SSH handshake + auth. Default 20000 ms. */
  readyTimeoutMs?: number;
  /** Close the pooled connection after this long without channels. Default 300000 ms; 0 keeps it forever. */
  idleTimeoutMs?: number;
  /** Delays between failed connection attempts. Default 250 ms doubling to 30 s. */
  reconnectBackoff?: BackoffOptions;
  /** Dialer used to reach the SSH server (a bastion, a spoke hub...). Default: direct TCP. */
  via?: Dialer;
  /** ssh2 algorithm lists (`cipher`, `kex`, `hmac`, `serverHostKey`, `compress`): exact lists or `{ append, prepend, remove }`. */
  algorithms?: Algorithms;
  /** Where warnings go (insecure host key mode). Default: `process.emitWarning`. */
  warn?: (message: string) => void;
  /**
   * Read an OpenSSH client config for `host`: `'auto'` is `~/.ssh/config` (a missing file is
   * fine), a string that file. Options set here win over it. With a config, a dialer given no
   * credentials tries `SSH_AUTH_SOCK` and then the IdentityFiles (else `~/.ssh/id_rsa`,
   * `id_ecdsa`, `id_ed25519`) as OpenSSH does, and ProxyJump becomes `via`. Default: `false`.
   */
  config?: string | false;
}

/** A {@link Dialer} that forwards through an SSH server; `hop` names it. */
export interface SshDialer extends Dialer {
  readonly kind: 'ssh';
  /** `ssh://user@host:port`, as used in error messages. */
  readonly hop: string;
  /** Opens the pooled SSH connection now (otherwise the first dial does). */
  connect(options?: DialOptions): Promise<void>;
  /**
   * Refuses new dials; streams already handed out keep working, and the SSH
   * connection ends once the last of them closes. Resolves then.
   */
  close(): Promise<void>;
  /** Ends the SSH connection now: open streams fail with ERR_TUNNEL_CLOSED. */
  destroy(err?: Error): void;
}

/**
 * Creates a dialer that opens `direct-tcpip` channels (and
 * `direct-streamlocal@openssh.com` for `unix:/path` targets) through one pooled
 * SSH connection, with the server's host key verified.
 *
 * @example
 * ```ts
 * const ssh = createSshDialer({ host: 'node-1', username: 'ops', privateKeyFile: '/etc/spoke/id_ed25519', knownHostsFile: '/etc/spoke/known_hosts' });
 * const s = await ssh.dial('127.0.0.1:10250', { signal: AbortSignal.timeout(10_000) });
 * ```
 */
export function createSshDialer(options: SshDialerOptions): SshDialer {
  if (typeof options?.host !== 'string' || options.host === '')
    throw new SpokeError('ERR_BAD_OPTION', 'createSshDialer: host is required (the SSH server to connect to).');
  if (options.config === undefined || options.config === false) return createPlainSshDialer(options, []);
  return sshDialerFromConfig(applySshConfig(options, options.config, processEnvironment()));
}

/** Builds the dialers for options an ssh_config was applied to: the ProxyJump hops first, owned by the dialer that uses them. */
export function sshDialerFromConfig(configured: ConfiguredSsh): SshDialer {
  if (!configured.jump) return createPlainSshDialer(configured.options, []);
  const via = sshDialerFromConfig(configured.jump);
  try {
    return createPlainSshDialer({ ...configured.options, via }, [via]);
  } catch (err) {
    via.destroy();
    throw err;
  }
}

function createPlainSshDialer(options: SshDialerOptions, owned: readonly SshDialer[]): SshDialer {
  const port = options.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new SpokeError('ERR_BAD_OPTION', `createSshDialer: port must be 1-65535, got ${String(options.port)}.`);
  const username = options.username ?? process.env.USER ?? 'root';
  const hostText = options.host.includes(':') ? `[${options.host}]` : options.host;
  const hop = `ssh://${username}@${hostText}:${port}`;
  const keepaliveMs = options.keepaliveMs ?? 15_000;
  if (!(keepaliveMs >= 0)) throw new SpokeError('ERR_BAD_OPTION', `keepaliveMs must be >= 0, got ${String(keepaliveMs)}.`);
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  if (!(idleTimeoutMs >= 0)) throw new SpokeError('ERR_BAD_OPTION', `idleTimeoutMs must be >= 0, got ${String(idleTimeoutMs)}.`);
  const warn = options.warn ?? ((m: string) => process.emitWarning(m, 'SpokeSecurityWarning'));
  const connection = new SshConnection({
    host: options.host,
    port,
    username,
    hop,
    via: viaOrDirect(options.via),
    credentials: createCredentials(options, hop),
    verifier: createHostVerifier(options.host, port, options, warn),
    keepaliveMs,
    keepaliveCountMax: options.keepaliveCountMax ?? 3,
    readyTimeoutMs: checkTimeout('readyTimeoutMs', options.readyTimeoutMs) ?? 20_000,
    idleTimeoutMs,
    backoff: createBackoff({ initialDelayMs: 250, maxDelayMs: 30_000, ...options.reconnectBackoff }),
    ...(options.algorithms ? { algorithms: options.algorithms } : {}),
  });
  let closed = false;

  return {
    kind: 'ssh',
    hop,
    dial(input, dialOptions) {
      return dialTarget(
        input,
        dialOptions,
        hop,
        () => closed,
        async (target, signal) => {
          const { client, usage } = await connection.acquire(signal);
          const release = connection.channelOpened();
          const releaseDial = usage.hold();
          let channel: ClientChannel;
          try {
            channel = await openChannel(client, target);
          } catch (err) {
            release();
            throw mapChannelOpenError(err, target, hop);
          } finally {
            releaseDial();
          }
          const stream = new SshStream(channel, target, hop, usage);
          stream.once('close', release);
          connection.track(stream);
          return stream;
        },
      );
    },
    async connect(dialOptions) {
      if (closed) throw dialerClosedError(`${hop} dialer`, { hop });
      // runDial (signal + timeout handling) wants a stream; the connection is what we are after here.
      const marker = await runDial(dialOptions, { target: `${options.host}:${port}`, hop }, async (signal) => {
        await connection.acquire(signal);
        return new PassThrough();
      });
      marker.destroy();
    },
    async close() {
      closed = true;
      await connection.close();
      await Promise.all(owned.map((d) => d.close()));
    },
    destroy(err) {
      closed = true;
      connection.destroy(err);
      for (const d of owned) d.destroy(err);
    },
  };
}

function openChannel(client: Client, target: Target): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | undefined, channel: ClientChannel): void => (err ? reject(err) : resolve(channel));
    try {
      // The originator address is informational (sshd logs it); we have no meaningful one.
      if ('path' in target) client.openssh_forwardOutStreamLocal(target.path, cb);
      else client.forwardOut('127.0.0.1', 0, target.host, target.port, cb);
    } catch (err) {
      reject(
        new SpokeError(
          'ERR_TUNNEL_CLOSED',
          `The SSH connection closed before a channel could be opened: ${(err as Error).message}. Retry the dial.`,
          { cause: err },
        ),
      );
    }
  });
}
