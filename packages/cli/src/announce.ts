import type { CommandContext } from './command.js';

/**
 * Prints the one line a long-running command writes when it is ready (where it
 * listens, how to use it) on stdout: as text, or with `--log-format json` as one
 * JSON object (`msg: "listening"`, the command, and `fields`), so scripts that
 * read JSON logs can read it too.
 */
export function announce(
  context: Pick<CommandContext, 'io' | 'logFormat'>,
  command: string,
  text: string,
  fields: Record<string, unknown>,
): void {
  const line =
    context.logFormat === 'json'
      ? JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'listening', command: `spoke ${command}`, ...fields })
      : `spoke ${command} listening: ${text}`;
  context.io.stdout.write(`${line}\n`);
}
