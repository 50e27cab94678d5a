import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SpokeError, certFingerprint } from '@spoke/transport-core';
import { createSelfSignedCertificate } from '@spoke/transport-core/pki';
import { checkSecretFile } from '@spoke/transport-core/utils';

/** The files of a hub state directory (`spoke hub --state-dir DIR`). */
export interface HubStateFiles {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  /** Lines `ID TOKEN` (bound) or `TOKEN` (any id), as `--agent-token-file` reads them. */
  readonly agentTokens: string;
  /** One token a line, as `--client-token-file` reads them. */
  readonly clientTokens: string;
}

/** The hub's identity as a state directory holds it. */
export interface HubState {
  readonly files: HubStateFiles;
  readonly fingerprint: string;
  /** Which files this call created (empty when everything was there). */
  readonly created: readonly string[];
}

/** The paths of the state in `dir` (relative to the working directory), without touching the disk. */
export function hubStateFiles(dir: string): HubStateFiles {
  const full = resolve(process.cwd(), dir);
  return {
    dir: full,
    cert: join(full, 'tls.crt'),
    key: join(full, 'tls.key'),
    agentTokens: join(full, 'agent-tokens'),
    clientTokens: join(full, 'client-tokens'),
  };
}

/** The names a hub listening on `host` is reached by, for its self-signed certificate (a wildcard address names no host). */
export function hubNames(host: string): string[] {
  return ['localhost', '127.0.0.1', '::1', host].filter((n, i, a) => n !== '0.0.0.0' && n !== '::' && n !== '' && a.indexOf(n) === i);
}

/** A new random bearer token (one word, URL-safe). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What `token list` shows instead of a token: enough to tell tokens apart and revoke one, nothing to log in with. */
export function tokenPrefix(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}

/**
 * Opens (creating what is missing) the hub state in `dir`: a 0700 directory holding a self-signed
 * serving certificate for `names` (tls.crt, tls.key) and one generated token per role (agent-tokens
 * holds a token for any id; bind tokens to ids with `spoke hub token create --agent ID`), every file
 * 0600. Files already there are reused as they are, so the fingerprint and the tokens survive restarts.
 * Throws `ERR_BAD_OPTION` for a half-present key pair or a state file others may write.
 */
export function openHubState(dir: string, names: readonly string[]): HubState {
  const files = hubStateFiles(dir);
  const created: string[] = [];
  if (existsSync(files.dir) && !statSync(files.dir).isDirectory()) {
    throw new SpokeError('ERR_BAD_OPTION', `--state-dir ${dir}: ${files.dir} exists and is not a directory.`);
  }
  if (!existsSync(files.dir)) {
    mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    chmodSync(files.dir, 0o700);
  }
  const haveCert = existsSync(files.cert);
  if (haveCert !== existsSync(files.key)) {
    const [present, missing] = haveCert ? [files.cert, files.key] : [files.key, files.cert];
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `--state-dir ${dir}: ${present} is there but ${missing} is missing; restore it, or remove both to make a new identity (agents pinning the old fingerprint will refuse the new one).`,
    );
  }
  if (!haveCert) {
    const self = createSelfSignedCertificate({ commonName: 'spoke-hub', altNames: [...names], usages: ['server'] });
    // Key first: a crash in between leaves a key without a certificate, which the check above reports.
    writeStateFile(files.key, self.key);
    writeStateFile(files.cert, self.cert);
    created.push(files.key, files.cert);
  }
  for (const path of [files.agentTokens, files.clientTokens]) {
    if (existsSync(path)) continue;
    writeStateFile(path, `${newToken()}\n`);
    created.push(path);
  }
  for (const path of [files.key, files.agentTokens, files.clientTokens]) {
    const warning = checkSecretFile(path, '--state-dir');
    if (warning !== undefined) process.emitWarning(warning, { code: 'SPOKE_SECRET_FILE_MODE' });
  }
  return { files, fingerprint: certFingerprint(readFileSync(files.cert)), created };
}

/** Creates a private (0600) file; never replaces one (a concurrent init keeps the first file). */
function writeStateFile(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Appends a line to a state token file, creating it 0600 when missing. */
export function appendTokenLine(path: string, line: string): void {
  appendFileSync(path, `${line}\n`, { mode: 0o600 });
}

/** Rewrites a state token file (0600) with `lines`. */
export function writeTokenLines(path: string, lines: readonly string[]): void {
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** One parsed line of a token file: the token, and the agent id it is bound to (agent files only). */
export interface TokenLine {
  token: string;
  id: string | undefined;
}

/**
 * Parses token file text, a token a line (blank lines skipped); with `bound` (agent files) a line may be
 * `ID TOKEN`. `what` names the file in errors; a malformed line is `ERR_BAD_OPTION` naming its number, never its content.
 */
export function parseTokenLines(text: string, what: string, bound: boolean): TokenLine[] {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.map((line, i) => {
    const words = line.split(/\s+/);
    if (!bound || words.length === 1) return { token: line, id: undefined };
    const [id, token] = words;
    if (words.length !== 2 || id === undefined || token === undefined) {
      throw new SpokeError('ERR_BAD_OPTION', `${what}: line ${i + 1} is neither 'TOKEN' nor 'ID TOKEN'`);
    }
    return { token, id };
  });
}
