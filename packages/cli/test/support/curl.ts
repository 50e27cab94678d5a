import { execFile } from 'node:child_process';

/** What curl did: its exit code, body (stdout) and messages (stderr). */
export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real curl with `args` (silent, errors shown, 20 s cap); never throws on a curl failure. */
export function curl(args: readonly string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
