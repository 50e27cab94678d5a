import { pathToFileURL } from 'node:url';
import { SPOKE_ERROR_CODES, SpokeError, isAbortError, isSpokeError, type SpokeErrorCode } from '@spoke/transport-core';

/** What every example's `main` gets: a signal that stops it, and where its output lines go. */
export interface ExampleContext {
  /** Aborting it stops the example; everything it opened is closed before `main` returns. */
  signal: AbortSignal;
  /** One line of output. Default `console.log`. */
  log?: (line: string) => void;
}

const spokeCodes: ReadonlySet<string> = new Set(SPOKE_ERROR_CODES);

/**
 * The SpokeError behind `err`. HTTP clients wrap what the dialer threw (undici's
 * `fetch` rejects with `TypeError('fetch failed')` whose `cause` is it), so the
 * chain of causes is searched, not just the top. node-fetch (under client-node
 * 1.x) keeps only the wrapped error's `code` and message: such an error is
 * turned back into a SpokeError with that code.
 */
export function spokeErrorIn(err: unknown): SpokeError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (isSpokeError(current)) return current;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && spokeCodes.has(code))
      return new SpokeError(code as SpokeErrorCode, current.message, { cause: current });
    current = current.cause;
  }
  return undefined;
}

/**
 * The exit code for a failed example, after one line saying why: 130 for an
 * abort, 1 for a SpokeError (`explain` turns its code into advice). Anything
 * else is a bug in the example and is rethrown.
 */
export function reportFailure(err: unknown, { signal, log }: Required<ExampleContext>, explain: (spoke: SpokeError) => string): number {
  if (isAbortError(err) || signal.aborted) {
    log('aborted');
    return 130;
  }
  const spoke = spokeErrorIn(err);
  if (spoke === undefined) throw err;
  log(`${spoke.code}: ${explain(spoke)}`);
  return 1;
}

/**
 * Runs `main` when this file is the program node was started with (not when a
 * test imports it): Ctrl-C or SIGTERM aborts the signal, and the exit code is
 * what `main` returned. Nothing calls `process.exit`, so a handle left open
 * would keep the process alive: the examples' tests check that it ends.
 */
export function runIfMain(moduleUrl: string, main: (context: Required<ExampleContext>, args: string[]) => Promise<number>): void {
  const entry = process.argv[1];
  if (entry === undefined || pathToFileURL(entry).href !== moduleUrl) return;
  const controller = new AbortController();
  const stop = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  main({ signal: controller.signal, log: (line) => console.log(line) }, process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  );
}
