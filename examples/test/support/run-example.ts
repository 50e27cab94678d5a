import { spawn } from 'node:child_process';
import { join } from 'node:path';

const examples = join(import.meta.dirname, '..', '..');

/** How an example ran as its own process. */
export interface ExampleRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `examples/<file>` as a program, the way its README line does (plain
 * node on the TypeScript source), and resolves when the process has exited by
 * itself. A process still running after `timeoutMs` is killed and reported
 * with signal SIGKILL: that is the failure "something held the event loop".
 */
export function runExample(file: string, args: readonly string[], timeoutMs = 30_000): Promise<ExampleRun> {
  const child = spawn(
    process.execPath,
    ['--conditions=@spoke/source', '--import', join(examples, '..', 'scripts', 'ts-register.mjs'), join(examples, file), ...args],
    { cwd: examples, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The argv that runs the `spoke` CLI from its TypeScript sources (no build needed), as packages/cli's tests do. */
export const SPOKE_FROM_SOURCE: readonly string[] = [
  process.execPath,
  '--conditions=@spoke/source',
  '--import',
  join(examples, '..', 'scripts', 'ts-register.mjs'),
  join(examples, '..', 'packages', 'cli', 'src', 'main.ts'),
];
