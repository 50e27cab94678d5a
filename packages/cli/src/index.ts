/**
 * `@spoke/cli`: the `spoke` command. The binary is `bin/spoke.js`; this entry
 * point exposes {@link runCli} and the command table so other tools can embed it.
 *
 * @example
 * ```ts
 * import { runCli } from '@spoke/cli';
 * const code = await runCli(['dial', '127.0.0.1:22'], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
 * ```
 * @packageDocumentation
 */
export { runCli } from './cli.js';
export type { RunCliOptions } from './cli.js';
export type { CliIo, Command, CommandContext } from './command.js';
export { COMMANDS } from './commands/index.js';
export type { CommandEntry } from './commands/index.js';
export { createCliRegistry, loadCliSchemes, CLI_BACKENDS } from './schemes.js';
export type { CliBackend } from './schemes.js';
export { EXIT_OK, EXIT_FAILURE, EXIT_USAGE, UsageError } from './errors.js';
