import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { SpokeError, isAbortError } from '../../errors.js';
import { closed, echo, waitFor } from '../bytes.js';
import { readExactly } from '../../read-until.js';
import { openSockets } from '../tcp-fixtures.js';
import type { ComplianceContext } from './context.js';
import { HANG_BOUND_MS } from './harness.js';

// The timeout under test; short so the suite stays quick, and nothing else is decided by it.
const DIAL_TIMEOUT_MS = 200;

/** Cancelling a dial by signal or timeout: the right error, and nothing left connected. */
export function describeAbortAndTimeout(ctx: ComplianceContext): void {
  describe('abort and timeout', () => {
    it('rejects an already-aborted dial with AbortError and connects nothing', async () => {
      const service = await ctx.serve((s) => s.destroy());
      const err = await ctx.dial(service.target, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect(isAbortError(err)).toBe(true);
      // A follow-up dial proves the service is up and counts as the only connection.
      const s = await ctx.dial(service.target);
      s.on('error', () => {});
      s.resume();
      s.end();
      await service.accepted;
      await closed(s);
      expect(service.connections()).toBe(1);
    });

    it('aborts a dial in progress with AbortError and leaves no stream open', async () => {
      const service = await ctx.serve((s) => {
        s.resume();
        return closed(s);
      });
      const ac = new AbortController();
      const pending = ctx.dial(service.target, { signal: ac.signal });
      ac.abort();
      const err = await pending.catch((e: unknown) => e);
      expect(isAbortError(err)).toBe(true);
      // If the connection reached the server before the abort won, it must be torn down.
      if (service.connections() > 0) await service.result;
    });
  });

  describe('against a target that never answers', () => {
    it('aborts with AbortError while connecting and leaks no socket', async () => {
      const hanging = await ctx.hangingTarget();
      await warmUp(ctx);
      // Counted by descriptor, not by what keeps the event loop alive: a backend may rightly hold its pooled
      // connection referenced until the server answers an open it could not cancel; that is no leak.
      const before = openSockets();
      const ac = new AbortController();
      const pending = ctx.dial(hanging.target, { signal: ac.signal }).catch((e: unknown) => e);
      // Abort once the backend is really connecting, not merely once dial() was called.
      await hanging.attempted?.();
      ac.abort();
      expect(isAbortError(await pending)).toBe(true);
      await waitFor(() => openSockets() <= before, `the aborted dial's sockets to close (${before} before it)`, HANG_BOUND_MS);
    });

    it('fails with ERR_DIAL_TIMEOUT after timeoutMs', async () => {
      const hanging = await ctx.hangingTarget();
      const started = performance.now();
      const err = await ctx.dial(hanging.target, { timeoutMs: DIAL_TIMEOUT_MS }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
      expect((err as SpokeError).message).toMatch(/timed out/);
      // Timers may fire a millisecond early against performance.now(); never a tenth early.
      expect(performance.now() - started).toBeGreaterThanOrEqual(DIAL_TIMEOUT_MS * 0.9);
    });

    it('maps AbortSignal.timeout() to ERR_DIAL_TIMEOUT', async () => {
      const hanging = await ctx.hangingTarget();
      const err = await ctx.dial(hanging.target, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
    });
  });
}

/**
 * One complete dial and round trip, so that connections a backend pools (a hub
 * session, an SSH connection) are open before the leak check counts sockets.
 */
async function warmUp(ctx: ComplianceContext): Promise<void> {
  const service = await ctx.serve((s) => {
    echo(s);
    return closed(s);
  });
  const s = await ctx.dial(service.target, { timeoutMs: HANG_BOUND_MS });
  s.write('x');
  await readExactly(s, 1);
  // Destroyed rather than ended: a backend without half-close would wait for a quiet spell first.
  s.destroy();
  await service.result;
}
