import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SpokeError } from '@spoke/transport-core';
import { checkSecretFile } from '@spoke/transport-core/utils';
import { stringFlag, type ParsedValues } from './args.js';
import { UsageError, inputStep } from './errors.js';

/** Reads a file named by a flag (relative to the working directory); a missing file is a usage error (ERR_BAD_OPTION). */
export function readFlagFile(path: string, flag: string, usage: string): Buffer {
  return inputStep(usage, () => readFlagFileNow(path, flag));
}

/**
 * {@link readFlagFile} for a file read again while running (a token file on every connect):
 * a file gone since the start is `ERR_BAD_OPTION` naming it, a SpokeError rather than a usage error.
 */
export function readFlagFileNow(path: string, flag: string): Buffer {
  const full = resolve(process.cwd(), path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `--${flag} ${path}: cannot read ${full} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
}

/**
 * Reads a file holding a secret (a token, a private key) named by a flag:
 * refused (usage error, ERR_BAD_OPTION) when group or others can write it, a
 * warning on stderr naming the `chmod 600` fix when they can read it.
 */
export function readSecretFlagFile(path: string, flag: string, usage: string): Buffer {
  checkSecretFlagFile(path, flag, usage);
  return readFlagFile(path, flag, usage);
}

function checkSecretFlagFile(path: string, flag: string, usage: string): void {
  const warning = inputStep(usage, () => checkSecretFile(resolve(process.cwd(), path), `--${flag}`));
  if (warning !== undefined) process.emitWarning(warning, { code: 'SPOKE_SECRET_FILE_MODE' });
}

/**
 * The checks of {@link readSecretFlagFile} for a command whose Go-style flags
 * (`--name=FILE`, `--name FILE`, one dash or two) another parser reads: each
 * of `flags` given in `argv` names a secret file.
 */
export function checkSecretFileArgs(argv: readonly string[], flags: readonly string[], usage: string): void {
  for (let i = 0; i < argv.length; i++) {
    const match = /^--?([a-z0-9-]+)(?:=(.*))?$/s.exec(argv[i] ?? '');
    const [, name = '', inline] = match ?? [];
    if (!flags.includes(name)) continue;
    const path = inline ?? argv[i + 1];
    if (path !== undefined && path !== '' && !path.startsWith('-')) checkSecretFlagFile(path, name, usage);
  }
}

/**
 * A PEM certificate and its key from two flags that go together (`--cert F
 * --key F`): both files read, or undefined when neither flag is given; one
 * without the other is a usage error.
 */
export function readKeyPairFlags(
  values: ParsedValues,
  certFlag: string,
  keyFlag: string,
  usage: string,
): { cert: Buffer; key: Buffer } | undefined {
  const certFile = stringFlag(values, certFlag);
  const keyFile = stringFlag(values, keyFlag);
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError(`--${certFlag} and --${keyFlag} go together`, usage);
  if (certFile === undefined || keyFile === undefined) return undefined;
  return { cert: readFlagFile(certFile, certFlag, usage), key: readSecretFlagFile(keyFile, keyFlag, usage) };
}

/** Tokens in a token file: one per line, blank lines and surrounding spaces ignored. */
export function readTokenFile(path: string, flag: string, usage: string): string[] {
  const tokens = readSecretFlagFile(path, flag, usage)
    .toString('utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (tokens.length === 0) throw new UsageError(`--${flag} ${path} holds no token`, usage);
  return tokens;
}

/**
 * Generates a random bearer token and writes it to a new private (0600) file
 * in `dir`; returns the token and the path. The token itself
 * is never printed, only where it is.
 */
export function generateTokenFile(name: string, dir: string): { token: string; path: string } {
  const path = join(dir, name);
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return { token, path };
}
