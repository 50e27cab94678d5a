import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/**
 * How tests start `spoke`: plain Node on the TypeScript sources (the
 * `@spoke/source` condition for sibling packages, the workspace's
 * scripts/ts-register.mjs to transpile), so no build of this package is needed.
 */
export const SPOKE_FROM_SOURCE: readonly string[] = [
  process.execPath,
  '--conditions=@spoke/source',
  '--import',
  join(root, '..', '..', 'scripts', 'ts-register.mjs'),
  join(root, 'src', 'main.ts'),
];

/** The command line (for OpenSSH's ProxyCommand) that runs spoke from source with `args` (already shell-quoted). */
export function spokeCommandLine(args: readonly string[]): string {
  return [...SPOKE_FROM_SOURCE, ...args].join(' ');
}

// Safety net: if a test run dies early, no spoke process outlives it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A finished run. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `spoke` process. */
export interface CliProcess {
  child: ChildProcess;
  /** Everything written so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the first stdout line matching `pattern` (rejects if the process exits first). */
  line(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves once stderr (from character `from` on) contains `pattern` (rejects if the process exits first). */
  stderrMatch(pattern: RegExp, from?: number): Promise<RegExpExecArray>;
  /** Resolves when the process has exited. */
  exited: Promise<CliResult>;
  /** Sends a signal (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<CliResult>;
}

/** Starts `spoke args...` from source; `entry` overrides the program (e.g. bin/spoke.js). */
export function startCli(
  args: readonly string[],
  options: { entry?: readonly string[]; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): CliProcess {
  const [command = process.execPath, ...prefix] = options.entry ?? SPOKE_FROM_SOURCE;
  const child = spawn(command, [...prefix, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd ?? root,
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    wake();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    wake();
  });
  child.stdin?.on('error', () => {});
  running.add(child);
  child.once('exit', () => running.delete(child));
  const exited = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      wake();
      resolve({ code, signal, stdout, stderr });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
    wake();
  });
  const waitMatch = (get: () => string, pattern: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = pattern.exec(get());
        if (match) resolve(match);
        else if (done)
          reject(new Error(`spoke exited (${child.exitCode}) before printing ${pattern}:\nstdout: ${stdout}\nstderr: ${stderr}`));
        else waiters.push(check);
      };
      check();
    });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    line: (pattern) => waitMatch(() => stdout, pattern),
    stderrMatch: (pattern, from = 0) => waitMatch(() => stderr.slice(from), pattern),
    exited,
    async stop(signal = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `spoke args...` to completion, feeding `input` on stdin (then EOF). */
export async function runCli(
  args: readonly string[],
  options: { input?: string | Buffer; entry?: readonly string[]; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  const proc = startCli(args, options);
  proc.child.stdin?.end(options.input ?? '');
  return proc.exited;
}
