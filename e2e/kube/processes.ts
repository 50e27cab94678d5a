import { spawn, type ChildProcess } from 'node:child_process';

/** Output kept from a child for error messages: the last `limit` bytes. */
export class OutputTail {
  private text = '';

  constructor(
    child: ChildProcess,
    private readonly limit = 16_384,
  ) {
    const keep = (c: Buffer): void => {
      this.text = (this.text + c.toString()).slice(-this.limit);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  toString(): string {
    return this.text;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Polls `probe` until it returns true: used only for readiness of external
 * programs that announce nothing we can wait on (kube-apiserver's /readyz).
 * The child exiting, or `timeoutMs`, ends the wait with `describe()` in the error.
 */
export async function pollUntil(
  probe: () => Promise<boolean>,
  options: { child: ChildProcess; what: string; timeoutMs: number; describe: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let delay = 50;
  for (;;) {
    if (options.child.exitCode !== null || options.child.signalCode !== null) {
      throw new Error(
        `${options.what} exited (${options.child.exitCode ?? options.child.signalCode}) before it was ready:\n${options.describe()}`,
      );
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${options.what} not ready within ${options.timeoutMs} ms:\n${options.describe()}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 500);
  }
}

/** Starts a program on the host with piped output (drained by {@link OutputTail} users or waitForOutput). */
export function spawnOnHost(argv: string[]): ChildProcess {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('spawnOnHost: empty argv');
  return spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Stops every child (SIGTERM, then SIGKILL), in parallel. */
export async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
}

/** Waits until GET `url` answers 200 (a readiness endpoint), or `child` exits. */
export async function waitReady(url: string, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const tail = new OutputTail(child);
  await pollUntil(
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      return res.status === 200;
    },
    { child, what, timeoutMs, describe: () => tail.toString() },
  );
}

/** Waits until GET `url` answers 200 with a body matching `pattern` (a metrics line), or `child` exits. */
export async function waitForBody(url: string, pattern: RegExp, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const tail = new OutputTail(child);
  await pollUntil(
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      return res.status === 200 && pattern.test(await res.text());
    },
    { child, what, timeoutMs, describe: () => tail.toString() },
  );
}
