import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

/** What one run of the Go client saw. */
export interface GoClientRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let client: string | undefined;

/**
 * Upstream's Konnectivity Go test client (konnectivity-client library in gRPC mode, Go HTTP CONNECT otherwise),
 * built once per machine by @spoke/dialer-konnectivity's test/upstream/build-upstream.mjs (its last line: the bin dir).
 */
export function goClient(): string {
  if (client === undefined) {
    const script = join(import.meta.dirname, '..', '..', '..', 'dialer-konnectivity', 'test', 'upstream', 'build-upstream.mjs');
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
    const dir = /: (\/\S+)\s*$/.exec(out)?.[1];
    if (dir === undefined) throw new Error(`build-upstream.mjs printed no bin directory: ${out}`);
    client = join(dir, 'konnectivity-test-client');
  }
  return client;
}

/** Runs the Go client with `args`, writes `input` and half-closes its stdin; resolves when the connection has ended. */
export function runGoClient(args: readonly string[], input: string): Promise<GoClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(goClient(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
