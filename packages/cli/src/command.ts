import type { Readable, Writable } from 'node:stream';
import type { DialerRegistry, Logger } from '@spoke/transport-core';

/** The process streams and environment a command works with (injectable for tests). */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  /** Logs and live counters go here; `isTTY` decides whether counters are drawn. */
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

/** Everything a command gets besides its own arguments. */
export interface CommandContext {
  io: CliIo;
  /** Writes to stderr in the format chosen by `--log-format`, filtered by `--log-level`. */
  logger: Logger;
  /** The URI schemes this build understands (`--via`, `--route`). */
  registry: DialerRegistry;
  /** Aborted on SIGINT/SIGTERM: long-running commands shut down gracefully. */
  shutdown: AbortSignal;
  /** The package version. */
  version: string;
  /** `--log-format`: machine-readable lines on stderr, and the banner on stdout too. */
  logFormat: 'text' | 'json';
}

/** One `spoke` sub-command. Adding a command is one file exporting one of these, plus a line in commands/index.ts. */
export interface Command {
  /** The word after `spoke`. */
  readonly name: string;
  /** One line for `spoke --help`. */
  readonly summary: string;
  /** Full help text (synopsis, options, examples), shown by `--help` and under usage errors. */
  help(context: Pick<CommandContext, 'registry'>): string;
  /** Runs the command with the arguments after its name; resolves to the exit status. */
  run(argv: readonly string[], context: CommandContext): Promise<number>;
}
