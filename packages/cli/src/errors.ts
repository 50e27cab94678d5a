import { cliAdvice } from './advice.js';
import { isAbortError, isSpokeError, redactUri, type SpokeErrorCode } from '@spoke/transport-core';

/** Exit status of a successful run. */
export const EXIT_OK = 0;
/** Exit status when something failed at run time (a dial, a listener, a peer). */
export const EXIT_FAILURE = 1;
/** Exit status for a command line the CLI cannot accept (unknown flag, malformed URI or target). */
export const EXIT_USAGE = 2;
/** Interrupted (SIGINT) while work was in flight, as shells report 128 + signal number. */
export const EXIT_INTERRUPTED = 130;
/** Terminated (SIGTERM) while work was in flight. */
export const EXIT_TERMINATED = 143;

/**
 * A command line the CLI cannot accept. It carries the usage text of the
 * command so the user sees the accepted forms next to the problem.
 */
export class UsageError extends Error {
  /** The usage text (synopsis) to show under the message. */
  readonly usage: string;

  constructor(message: string, usage = '') {
    super(message);
    this.name = 'UsageError';
    this.usage = usage;
  }
}

// Codes that mean "what you typed is wrong" when they come out of argument
// handling (building the dialer chain, parsing targets and config files).
const INPUT_CODES: ReadonlySet<SpokeErrorCode> = new Set<SpokeErrorCode>([
  'ERR_BAD_URI',
  'ERR_BAD_TARGET',
  'ERR_BAD_OPTION',
  'ERR_BAD_CONFIG',
]);

/**
 * Re-throws an error raised while turning arguments into objects as a
 * {@link UsageError} when it is about the input (bad URI, target, option or
 * config file), so it exits with status 2. Other errors pass through.
 */
export function asUsageError(err: unknown, usage: string): unknown {
  if (isSpokeError(err) && INPUT_CODES.has(err.code)) return new UsageError(`${err.code}: ${err.message}`, usage);
  return err;
}

/** Runs `fn`, turning input errors into {@link UsageError}s (see {@link asUsageError}). */
export function inputStep<T>(usage: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asUsageError(err, usage);
  }
}

/** The exit status for an error that ended a command. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * One line (or a few) for stderr describing an error: the SpokeError code
 * first so scripts can grep it, secrets in URIs masked.
 */
export function describeError(err: unknown): string {
  if (isSpokeError(err)) return scrub(cliAdvice(`${err.code}: ${err.message}`));
  if (isAbortError(err)) return 'cancelled';
  if (err instanceof Error) return scrub(cliAdvice(err.message));
  return scrub(String(err));
}

/** Masks secrets in any URI-looking words of a message. */
export function scrub(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"']+/gi, (uri) => redactUri(uri));
}
