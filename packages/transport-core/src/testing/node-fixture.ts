import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How a fixture program ended. */
export interface FixtureExit {
  code: number | null;
  signal: string | null;
  /** Everything it wrote to stdout. */
  out: string;
}

/** Options of {@link runNodeFixture}. */
export interface NodeFixtureOptions {
  /** SIGKILL after this long: a bound on a hang, never a wait. Default 20 s. */
  boundMs?: number;
  /** Called with all stdout so far on every chunk (to act when the program reaches a point). */
  onOutput?: (out: string) => void;
  /**
   * Node flags before the file. Default: workspace packages from their sources and
   * the spoke workspace's type-stripping hook (`scripts/ts-register.mjs`), so
   * outside the spoke repository pass your own.
   */
  nodeArgs?: readonly string[];
}

const registerHook = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'scripts', 'ts-register.mjs');

/**
 * Runs a TypeScript program of the workspace in a Node process of its own
 * (workspace packages from their sources, types stripped on the fly) and
 * resolves once it exits: for tests of what keeps a process alive, which
 * cannot be judged from inside the test's own process. stderr is passed through.
 */
export async function runNodeFixture(file: string, args: readonly string[], options: NodeFixtureOptions = {}): Promise<FixtureExit> {
  const nodeArgs = options.nodeArgs ?? ['--conditions=@spoke/source', '--import', registerHook];
  const child = spawn(process.execPath, [...nodeArgs, file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), options.boundMs ?? 20_000);
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    options.onOutput?.(out);
  });
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    return { code, signal, out };
  } finally {
    clearTimeout(kill);
    child.kill('SIGKILL');
  }
}
