import type { ChildProcess } from 'node:child_process';

/**
 * Everything the demo started, stopped in reverse order exactly once —
 * after `--once`, on Ctrl-C, or when start-up fails half way.
 */
export class Teardown {
  private readonly steps: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private readonly children = new Set<ChildProcess>();
  private running: Promise<void> | undefined;

  constructor() {
    // Last resort for an exit we did not plan (an uncaught error): no child outlives us.
    process.once('exit', () => this.killChildren('SIGKILL'));
  }

  /** Registers a stop step; steps run last-registered first. */
  add(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  /** Tracks a child process: it is killed on teardown and on any process exit. */
  track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Runs every step once (each bounded by `stepTimeoutMs`), then kills remaining children. */
  run(stepTimeoutMs = 3_000): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await Promise.race([Promise.resolve(step.run()), new Promise((r) => setTimeout(r, stepTimeoutMs).unref())]);
        } catch (err) {
          process.stderr.write(`demo: stopping ${step.name}: ${(err as Error).message}\n`);
        }
      }
      const exits = [...this.children].map((c) => new Promise<void>((r) => c.once('exit', () => r())));
      this.killChildren('SIGKILL');
      await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, stepTimeoutMs).unref())]);
    })();
    return this.running;
  }

  private killChildren(signal: NodeJS.Signals): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  }
}
