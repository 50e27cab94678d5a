import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import type { MemorySample } from './memory.js';

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));

/** Process-wide settings for the children a run starts. */
export const childSettings = {
  /** Directory for `--cpu-prof` profiles, or undefined for no profiling. */
  cpuProfDir: undefined as string | undefined,
};

/** A benchmark role running in its own Node process (its own event loop and core). */
export interface Child {
  readonly role: string;
  readonly pid: number;
  /** What the role reported when it was ready (ports...). */
  readonly info: Record<string, number | string>;
  /** Sends a command to the role and resolves with its answer. */
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** CPU time the child used so far (user + system), in microseconds. */
  cpu(): Promise<number>;
  /** Forces GC in the child and returns its memory figures. */
  memory(): Promise<MemorySample>;
  /** Asks the child to close everything and exit; kills it if it does not within 10 s. */
  stop(): Promise<void>;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/**
 * Starts `src/child.ts <role>` with the same source-mode loader as this process,
 * plus `--expose-gc` (memory rows) and `--cpu-prof` when profiling.
 */
export async function startChild(role: string, args: Record<string, unknown> = {}): Promise<Child> {
  const execArgv = [
    '--conditions=@spoke/source',
    '--import',
    pathToFileURL(join(benchDir, '..', 'scripts', 'ts-register.mjs')).href,
    '--expose-gc',
    '--max-old-space-size=2048',
  ];
  // Node names each profile CPU.<date>.<time>.<pid>.<thread>.<seq>; the pid is printed below to tell roles apart.
  if (childSettings.cpuProfDir !== undefined) execArgv.push('--cpu-prof', `--cpu-prof-dir=${childSettings.cpuProfDir}`);
  const proc: ChildProcess = fork(join(benchDir, 'src', 'child.ts'), [role, JSON.stringify(args)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (childSettings.cpuProfDir !== undefined) console.error(`cpu profile: ${role} is pid ${proc.pid}`);
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const failAll = (why: string): void => {
    for (const w of waiting.values()) w.reject(new Error(`${role} child: ${why}`));
    waiting.clear();
  };
  proc.once('exit', (code, signal) => failAll(`exited (${code ?? signal})`));
  const info = await new Promise<Record<string, number | string>>((resolve, reject) => {
    proc.once('exit', (code, signal) => reject(new Error(`${role} child exited (${code ?? signal}) before it was ready`)));
    proc.on('message', (m: { ready?: Record<string, number | string> } & Partial<Reply>) => {
      if (m.ready !== undefined) {
        resolve(m.ready);
        return;
      }
      const w = m.id === undefined ? undefined : waiting.get(m.id);
      if (w === undefined || m.id === undefined) return;
      waiting.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(`${role} child: ${m.error}`));
      else w.resolve(m.result);
    });
  });
  const call = <T>(cmd: string, callArgs: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      proc.send({ id, cmd, args: callArgs });
    });
  return {
    role,
    pid: proc.pid ?? 0,
    info,
    call,
    memory: () => call<MemorySample>('memory'),
    cpu: () => call<number>('cpu'),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      call('exit').catch(() => {});
      await exited;
      clearTimeout(timer);
    },
  };
}
