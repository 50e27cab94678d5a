import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');
/** The built CLI (`npx nx run @spoke/cli:build`); the image's `spoke` is this file. */
export const CLI_BIN = join(repo, 'packages', 'cli', 'bin', 'spoke.js');
export const CLI_MAIN = join(repo, 'packages', 'cli', 'dist', 'main.js');

/** Runs the built CLI; bounded, never interactive. */
export function runCli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Values the kubelet would give the downward-API variables the charts' args use. */
export const DOWNWARD_VALUES: Readonly<Record<string, string>> = {
  POD_NAME: 'spoke-hub-7d9f-abcde',
  NODE_NAME: 'node-1',
  HOST_IP: '10.0.0.5',
};

/** Expands $(NAME) as the kubelet does for the names `defined` (a container's env); others stay literal. */
export function expandArgs(args: readonly string[], defined: ReadonlySet<string>): string[] {
  return args.map((a) =>
    a.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (whole, name: string) => (defined.has(name) ? (DOWNWARD_VALUES[name] ?? whole) : whole)),
  );
}
