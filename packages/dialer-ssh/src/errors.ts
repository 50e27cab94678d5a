import { SpokeError, formatTarget, type Target } from '@spoke/transport-core';

/** RFC 4254 §5.1 channel open failure reasons (SSH_OPEN_*). */
export const OPEN_FAILURE = {
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4,
} as const;

/** The shape of errors ssh2 emits: `level` says which layer failed. */
interface Ssh2Error extends Error {
  level?: string;
  reason?: number | string;
  code?: unknown;
}

/** What the connection knew when it failed, for messages. */
export interface ConnectContext {
  /** `ssh://user@host:port`. */
  hop: string;
  /** Authentication methods the server said it accepts (from USERAUTH_FAILURE), if it got that far. */
  serverMethods?: readonly string[];
  /** Methods we tried. */
  triedMethods?: readonly string[];
  /** The readyTimeout in force. */
  readyTimeoutMs?: number;
}

/**
 * Maps an error from an ssh2 `Client` (connect, handshake, auth, transport)
 * to a SpokeError. Errors that are already SpokeErrors (host key refusals,
 * failures of the `via` dial) pass through.
 */
export function mapClientError(err: unknown, ctx: ConnectContext): SpokeError {
  if (err instanceof SpokeError) return SpokeError.from(err, { hop: ctx.hop });
  const e = (err instanceof Error ? err : new Error(String(err))) as Ssh2Error;
  const msg = e.message;
  const opts = { cause: err, hop: ctx.hop };
  switch (e.level) {
    case 'client-authentication': {
      const offered = ctx.serverMethods && ctx.serverMethods.length > 0 ? ctx.serverMethods.join(', ') : 'unknown';
      const tried = ctx.triedMethods && ctx.triedMethods.length > 0 ? ctx.triedMethods.join(', ') : 'none';
      return new SpokeError(
        'ERR_AUTH_FAILED',
        `SSH authentication to ${ctx.hop} failed: the server accepts ${offered}; we tried ${tried}. ` +
          "Check the username, that the public key is in the server's authorized_keys, or give privateKey/agent.",
        opts,
      );
    }
    case 'agent':
      return new SpokeError(
        'ERR_AUTH_FAILED',
        `The SSH agent failed while authenticating to ${ctx.hop}: ${msg}. Check SSH_AUTH_SOCK and \`ssh-add -l\`.`,
        opts,
      );
    case 'client-timeout':
      if (/keepalive/i.test(msg)) {
        return new SpokeError(
          'ERR_TUNNEL_CLOSED',
          `The SSH connection ${ctx.hop} stopped answering keepalives and was dropped. It is re-established on the next dial.`,
          opts,
        );
      }
      return new SpokeError(
        'ERR_HANDSHAKE_TIMEOUT',
        `The SSH handshake with ${ctx.hop} did not finish within ${ctx.readyTimeoutMs ?? 'the ready timeout'} ms. Check that the port is an SSH server, or raise readyTimeoutMs.`,
        opts,
      );
    case 'client-dns':
      return new SpokeError('ERR_DIAL_UNREACHABLE', `Cannot resolve the SSH server of ${ctx.hop}: ${msg}. Check the host name.`, opts);
    case 'client-socket':
      return SpokeError.from(err, { hop: ctx.hop, target: hostOf(ctx.hop) });
    case 'handshake':
      return new SpokeError(
        'ERR_PROTOCOL',
        `The SSH handshake with ${ctx.hop} failed: ${msg}. If no algorithm matched, adjust the algorithms option to something the server offers.`,
        opts,
      );
    case 'protocol':
      if (/lost before handshake/i.test(msg)) {
        return new SpokeError(
          'ERR_TUNNEL_CLOSED',
          `The SSH server ${ctx.hop} closed the connection before the handshake (too many unauthenticated connections, a non-SSH port, or a firewall). Retry later.`,
          opts,
        );
      }
      return new SpokeError('ERR_PROTOCOL', `The SSH server ${ctx.hop} broke the protocol: ${msg}.`, opts);
  }
  if (typeof e.code === 'number') {
    // SSH_MSG_DISCONNECT from the server: code is the disconnect reason.
    if (e.code === 14 /* NO_MORE_AUTH_METHODS_AVAILABLE */ || e.code === 13 /* AUTH_CANCELLED_BY_USER */) {
      return new SpokeError(
        'ERR_AUTH_FAILED',
        `The SSH server ${ctx.hop} ended authentication: ${msg}. Check the username and keys.`,
        opts,
      );
    }
    return new SpokeError(
      'ERR_TUNNEL_CLOSED',
      `The SSH server ${ctx.hop} disconnected (reason ${e.code}): ${msg}. Retry; if it persists, check the server's logs.`,
      opts,
    );
  }
  if (/privateKey|passphrase|Unsupported key format|Encrypted/i.test(msg)) {
    return new SpokeError(
      'ERR_BAD_OPTION',
      `The private key for ${ctx.hop} cannot be used: ${msg}. Check the key file and passphrase.`,
      opts,
    );
  }
  if (/Unsupported algorithm/i.test(msg)) {
    return new SpokeError('ERR_BAD_OPTION', `${msg} in the algorithms option for ${ctx.hop}. Use names ssh2 supports.`, opts);
  }
  return SpokeError.from(err, { hop: ctx.hop });
}

/**
 * Maps a failed `direct-tcpip` / `direct-streamlocal` channel open. OpenSSH
 * sends reason 1 for `PermitOpen`/`AllowTcpForwarding` refusals and reason 2
 * with strerror/gai_strerror text for connect failures, so the text decides
 * between refused, unreachable and timeout.
 */
export function mapChannelOpenError(err: unknown, target: Target | string, hop: string): SpokeError {
  if (err instanceof SpokeError) return SpokeError.from(err, { target, hop });
  const e = (err instanceof Error ? err : new Error(String(err))) as Ssh2Error;
  const desc = e.message.replace(/^\(SSH\) Channel open failure:\s*/, '');
  const where = typeof target === 'string' ? target : formatTarget(target);
  const opts = { cause: err, target, hop };
  if (/No response from server|Not connected|closed/i.test(e.message) && e.reason === undefined) {
    return new SpokeError(
      'ERR_TUNNEL_CLOSED',
      `The SSH connection ${hop} went away while opening a channel to ${where}. Retry the dial.`,
      opts,
    );
  }
  switch (e.reason) {
    case OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED:
      return new SpokeError(
        'ERR_DIAL_DENIED',
        `The SSH server ${hop} refused to forward to ${where} (administratively prohibited: ${desc || 'no detail'}). ` +
          "Its PermitOpen/AllowTcpForwarding/AllowStreamLocalForwarding settings or the key's permitopen= option forbid it.",
        opts,
      );
    case OPEN_FAILURE.UNKNOWN_CHANNEL_TYPE:
      return new SpokeError(
        'ERR_DIAL_DENIED',
        `The SSH server ${hop} does not support this kind of forwarding to ${where} (${desc}).`,
        opts,
      );
    case OPEN_FAILURE.RESOURCE_SHORTAGE:
      return new SpokeError(
        'ERR_TOO_MANY_STREAMS',
        `The SSH server ${hop} is out of resources for another channel to ${where} (${desc}). Retry later or lower concurrency (sshd MaxSessions).`,
        opts,
      );
    default:
      break;
  }
  if (/refused/i.test(desc)) {
    return new SpokeError(
      'ERR_DIAL_REFUSED',
      `The SSH server ${hop} could not connect to ${where}: connection refused. Check that the service is running at that address as seen from the SSH server.`,
      opts,
    );
  }
  if (/No such file|not found/i.test(desc) && typeof target !== 'string' && 'path' in target) {
    return new SpokeError('ERR_DIAL_REFUSED', `No socket exists at ${where} on the SSH server ${hop}. Check the path.`, opts);
  }
  if (
    /Name or service not known|nodename nor servname|not known|No address|Temporary failure in name resolution|getaddrinfo|Name does not resolve/i.test(
      desc,
    )
  ) {
    return new SpokeError(
      'ERR_DIAL_UNREACHABLE',
      `The SSH server ${hop} cannot resolve the host of ${where} (${desc}). Check the name as seen from the SSH server.`,
      opts,
    );
  }
  if (/unreachable|No route/i.test(desc)) {
    return new SpokeError('ERR_DIAL_UNREACHABLE', `The SSH server ${hop} has no route to ${where} (${desc}).`, opts);
  }
  if (/timed out/i.test(desc)) {
    return new SpokeError('ERR_DIAL_TIMEOUT', `The SSH server ${hop} timed out connecting to ${where}. Check that the target is up.`, opts);
  }
  if (/Permission denied/i.test(desc)) {
    return new SpokeError(
      'ERR_DIAL_DENIED',
      `The SSH server ${hop} was denied access to ${where} (${desc}). Check socket permissions on the server.`,
      opts,
    );
  }
  return new SpokeError(
    'ERR_DIAL_FAILED',
    `The SSH server ${hop} could not open a channel to ${where}: ${desc || 'no reason given'}. Check the target as seen from the SSH server.`,
    opts,
  );
}

function hostOf(hop: string): string | undefined {
  const m = /^ssh:\/\/(?:[^@]*@)?(.+)$/.exec(hop);
  return m?.[1];
}
