/**
 * The libraries' errors give advice in their own option names (`timeoutMs`,
 * `hostKey`, `pin: "…"`); on the command line the same advice must name the
 * flag or URI parameter the user can actually type. Each rule rewrites one
 * library phrase into the CLI's words (parameters the URIs accept).
 */
const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\braise timeoutMs\b/g, 'raise --connect-timeout'],
  [/\bRaise timeoutMs\b/g, 'Raise --connect-timeout'],
  [/\braise readyTimeoutMs\b/g, 'raise --connect-timeout'],
  [/\bpin it with hostKey '([^']+)'/g, 'pin it with host-key=$1 in the ssh:// URI'],
  [/\bUse knownHostsFile or hostKey instead\b/g, 'Use known-hosts=FILE or host-key=SHA256:… in the ssh:// URI instead'],
  [/\bCheck knownHostsFile\b/g, 'Check the known-hosts= file'],
  [/\bthe knownHosts option\b/g, 'the known-hosts= file'],
  [/\bor give privateKey\/agent\b/g, 'or give identity=FILE in the ssh:// URI (or a key in ssh-agent, SSH_AUTH_SOCK)'],
  [/\bas the ca option, or pin its key with pin: "([^"]+)"/g, 'as ca=FILE, or pin its key with pin=$1'],
  [/\bset the servername option to one of them\b/g, 'set servername=NAME to one of them'],
  [/\braise maxStreams\b/g, 'open another connection'],
  [/\bupdate the pin option\b/g, 'update the pinned fingerprint (--hub-fingerprint, fingerprint= or pin= in the URI)'],
];

/** `message` with library option names replaced by the CLI's flags and URI parameters. */
export function cliAdvice(message: string): string {
  let out = message;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}
