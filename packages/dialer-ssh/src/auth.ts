import { readFileSync } from 'node:fs';
import ssh2, { type AnyAuthMethod, type AuthHandlerMiddleware, type BaseAgent, type ParsedKey } from 'ssh2';

// ssh2 is CommonJS and Node's named-export detection misses `utils`: take it from the default export.
const { utils } = ssh2;
import { SpokeError } from '@spoke/transport-core';

/** Credentials for the SSH server. Methods are tried in this order: agent, then private key. */
export interface SshAuthOptions {
  /** Private key (OpenSSH, PEM or PPK text). */
  privateKey?: string | Buffer;
  /** Path of a private key file; read once when the dialer is created. */
  privateKeyFile?: string;
  /** Passphrase of an encrypted private key. Never logged. */
  passphrase?: string | Buffer;
  /** ssh-agent: a socket path (e.g. `process.env.SSH_AUTH_SOCK`), `'pageant'`, or an ssh2 agent instance. */
  agent?: string | BaseAgent;
  /**
   * More private key files, tried in order after `agent` and `privateKey`, as OpenSSH tries its
   * identity files: one that is missing, unreadable or encrypted without `passphrase` is skipped
   * (and named in the authentication error) instead of failing the dialer.
   */
  identityFiles?: readonly string[];
}

/** What an auth round learnt, for error messages. */
export interface AuthTrace {
  serverMethods: string[];
  triedMethods: string[];
}

type Attempt =
  | { method: 'agent'; agent: string | BaseAgent }
  | { method: 'publickey'; key: Buffer | string; passphrase?: string | Buffer; file?: string };

/** Validated credentials: keys are read and parsed up front so mistakes fail at creation, not at first dial. */
export interface Credentials {
  /** A fresh ssh2 `authHandler` for one connection attempt, recording into `trace`. */
  handler(username: string, trace: AuthTrace): AuthHandlerMiddleware;
}

/** Reads and checks the key material in `options`. */
export function createCredentials(options: SshAuthOptions, what: string): Credentials {
  const attempts: Attempt[] = [];
  const skipped: string[] = [];
  if (options.agent !== undefined && options.agent !== '') attempts.push({ method: 'agent', agent: options.agent });
  let key = options.privateKey;
  if (key === undefined && options.privateKeyFile !== undefined) {
    try {
      key = readFileSync(options.privateKeyFile);
    } catch (err) {
      throw new SpokeError(
        'ERR_BAD_OPTION',
        `Cannot read privateKeyFile ${options.privateKeyFile} for ${what}: ${(err as Error).message}. Check the path.`,
        { cause: err },
      );
    }
  }
  if (key !== undefined) {
    // The typings promise one key; ssh2 returns an array for an OpenSSH file that holds several (flat() reads both).
    const keys: (ParsedKey | Error)[] = [utils.parseKey(key, options.passphrase)].flat();
    const first = keys[0];
    if (first === undefined || first instanceof Error) {
      const why = first instanceof Error ? first.message : 'no key found';
      const hint = /passphrase|decrypt|Encrypted/i.test(why)
        ? ' Give the right passphrase.'
        : ' Check that it is an OpenSSH, PEM or PPK private key.';
      throw new SpokeError('ERR_BAD_OPTION', `The private key for ${what} cannot be used: ${why}.${hint}`);
    }
    if (!first.isPrivateKey()) throw new SpokeError('ERR_BAD_OPTION', `The key given for ${what} is a public key; give the private key.`);
    attempts.push({
      method: 'publickey',
      key,
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      ...(options.privateKeyFile !== undefined && options.privateKey === undefined ? { file: options.privateKeyFile } : {}),
    });
  }
  for (const file of options.identityFiles ?? []) {
    const found = readIdentity(file, options.passphrase);
    if (typeof found === 'string') skipped.push(`${file} skipped (${found})`);
    else
      attempts.push({
        method: 'publickey',
        key: found,
        file,
        ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      });
  }
  return {
    handler(username, trace) {
      const queue = [...attempts];
      let askedNone = false;
      let first = true;
      return (left, _partial, next) => {
        if (first) trace.triedMethods.push(...skipped);
        first = false;
        // ssh2 calls with null before the first attempt (the types say otherwise).
        const methodsLeft = left as string[] | null;
        if (methodsLeft) trace.serverMethods.splice(0, trace.serverMethods.length, ...methodsLeft);
        while (queue.length > 0) {
          const a = queue.shift() as Attempt;
          // An agent signs with public keys too.
          if (methodsLeft && !methodsLeft.includes('publickey')) continue;
          trace.triedMethods.push(describe(a));
          if (a.method === 'agent') next({ type: 'agent', username, agent: a.agent });
          else
            next({
              type: 'publickey',
              username,
              key: a.key,
              ...(a.passphrase !== undefined ? { passphrase: a.passphrase } : {}),
            } satisfies AnyAuthMethod);
          return;
        }
        if (attempts.length === 0 && !askedNone) {
          // Nothing configured: ask with "none" so the failure can name the methods the server wants.
          askedNone = true;
          trace.triedMethods.push('none');
          next({ type: 'none', username });
          return;
        }
        // ssh2 reads `false` as "no more methods" and fails with a client-authentication error.
        (next as unknown as (r: false) => void)(false);
      };
    },
  };
}

// Names an attempt for error messages: the agent socket or key file, never key material.
function describe(a: Attempt): string {
  if (a.method === 'agent') return typeof a.agent === 'string' ? `agent ${a.agent}` : 'agent';
  return a.file !== undefined ? `publickey ${a.file}` : 'publickey';
}

// An identity file as OpenSSH treats one: usable, or a reason to pass over it.
function readIdentity(file: string, passphrase: string | Buffer | undefined): Buffer | string {
  let key: Buffer;
  try {
    key = readFileSync(file);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `unreadable: ${(err as Error).message}`;
  }
  const first = [utils.parseKey(key, passphrase)].flat()[0];
  if (first === undefined) return 'no key found';
  if (first instanceof Error) return /passphrase|decrypt|Encrypted/i.test(first.message) ? 'encrypted; no passphrase given' : first.message;
  if (!first.isPrivateKey()) return 'a public key';
  return key;
}
