/**
 * The `spoke` process: wires process streams and signals to {@link runCli}.
 * The first SIGINT/SIGTERM asks the running command to shut down gracefully;
 * a second one exits at once.
 */
import { runCli } from './cli.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals += 1;
  if (signals > 1) process.exit(130);
  // The signal travels with the reason: an interrupted command exits 130 (SIGINT) or 143 (SIGTERM).
  controller.abort(Object.assign(new Error(`received ${signal}`), { signal }));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// A reader that went away (e.g. `spoke ... | head`) is not an error worth a stack trace.
process.stdout.on('error', () => {});

const code = await runCli(
  process.argv.slice(2),
  { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env },
  { shutdown: controller.signal },
);
// Let queued output reach the pipes, then exit even if stdin or a pooled connection would keep the loop alive.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
