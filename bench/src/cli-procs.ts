import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicrosOf } from './memory.js';
import { childSettings } from './proc.js';

const repo = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/**
 * How the user-path rows start `spoke`: from source (the `@spoke/source`
 * condition and the workspace's TypeScript loader, as the CLI's own tests do),
 * or the built CLI (`bin/spoke.js` on `dist/`) with SPOKE_BENCH_CLI=dist. From
 * source, Node runs the loader's hooks on a thread of their own, which adds
 * its heap to the process's RSS: the idle-RSS rows say which one ran.
 */
export const cliMode: 'source' | 'dist' = process.env['SPOKE_BENCH_CLI'] === 'dist' ? 'dist' : 'source';

function entry(): string[] {
  if (cliMode === 'dist') return [join(repo, 'packages', 'cli', 'bin', 'spoke.js')];
  return [
    '--conditions=@spoke/source',
    '--import',
    join(repo, 'scripts', 'ts-register.mjs'),
    join(repo, 'packages', 'cli', 'src', 'main.ts'),
  ];
}

/** A running `spoke` command: its pid (for /proc), its output and a way to stop it. */
export interface CliProc {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the first stdout line matching `pattern`; rejects if the process exits first. */
  line(pattern: RegExp): Promise<string>;
  /** Resolves once stderr matches `pattern`; rejects if the process exits first. */
  stderrMatch(pattern: RegExp): Promise<void>;
  /** User + system CPU so far, in microseconds (/proc/PID/stat, all threads). */
  cpu(): number;
  /** Resident set size now, in bytes (/proc/PID/status VmRSS). */
  rss(): number;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Starts `spoke ...args` as the user would (its own process), profiled when `--cpu-prof` was given. */
export function startCli(name: string, args: readonly string[]): CliProc {
  const prof = childSettings.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${childSettings.cpuProfDir}`];
  const child: ChildProcess = spawn(process.execPath, [...prof, ...entry(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: repo });
  if (childSettings.cpuProfDir !== undefined) console.error(`cpu profile: spoke ${name} is pid ${child.pid}`);
  let stdout = '';
  let stderr = '';
  let exited = false;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of waiters) w();
  };
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
    wake();
  });
  // Only the head of stderr is kept (a CLI logs per connection at info level).
  child.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += c.toString();
    wake();
  });
  const done = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      wake();
      resolve();
    }),
  );
  const waitFor = <T>(test: () => T | undefined, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = test();
        if (v !== undefined) {
          waiters.delete(check);
          resolve(v);
        } else if (exited) {
          waiters.delete(check);
          reject(new Error(`spoke ${name} exited before ${what}:\n${stderr}`));
        }
      };
      waiters.add(check);
      check();
    });
  return {
    name,
    pid: child.pid ?? 0,
    line: (pattern) => waitFor(() => stdout.split('\n').find((l) => pattern.test(l)), `printing ${pattern}`),
    stderrMatch: (pattern) => waitFor(() => (pattern.test(stderr) ? true : undefined), `logging ${pattern}`).then(() => {}),
    cpu: () => cpuMicrosOf(child.pid ?? 0),
    rss: () => rssOf(child.pid ?? 0),
    async stop() {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await done;
      clearTimeout(timer);
    },
  };
}

/** VmRSS of a process, in bytes. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN) * 1024;
}
