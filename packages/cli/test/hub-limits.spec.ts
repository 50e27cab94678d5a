import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { connectTo, untilClosed } from './support/raw-socket.js';

/** Resolves when `closed` (a socket's close) does; rejects if it is still pending after `boundMs`. */
function closedWithin(closed: Promise<string>, boundMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    closed.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still open after ${boundMs} ms`)), boundMs);
    }),
  ]);
}

describe('spoke hub connection limits (real process)', () => {
  let hub: CliProcess | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  it('--handshake-timeout cuts a silent connection; --max-connections-per-address closes the one over the cap at once', async () => {
    hub = startCli(['hub', '--listen', '127.0.0.1:0', '--handshake-timeout', '500ms', '--max-connections-per-address', '1']);
    const [line = ''] = await hub.line(/^spoke hub listening: .+$/m);
    const address = /wss:\/\/(\S+)/.exec(line)?.[1] ?? '';
    const silent = await connectTo(address);
    const over = await connectTo(address);
    try {
      const [first, second] = [untilClosed(silent), untilClosed(over)];
      await closedWithin(second, 1_000);
      expect(silent.destroyed).toBe(false);
      // Node's own deadlines (120 s TLS, 60 s headers) would leave it open far longer.
      await closedWithin(first, 4_000);
    } finally {
      silent.destroy();
      over.destroy();
    }
  });

  it.each([
    ['--max-connections', '0'],
    ['--max-connections-per-address', 'many'],
    ['--handshake-timeout', '0'],
  ])('%s %s is a usage error', async (flag, value) => {
    const result = await runCli(['hub', '--listen', '127.0.0.1:0', flag, value]);
    expect(result.code).toBe(2);
    // The flag's own check, not an unknown-option error.
    expect(result.stderr).toMatch(new RegExp(`${flag} must be (an integer >= 1|greater than zero)`));
  });
});
