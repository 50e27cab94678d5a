import { describe, expect, it } from 'vitest';
import { SpokeError } from '../../errors.js';
import { closed, echo, readAll } from '../bytes.js';
import { readExactly } from '../../read-until.js';
import type { ComplianceContext } from './context.js';
import { HANG_BOUND_MS } from './harness.js';

/** A round trip through a live target, and the coded failures of targets that cannot be reached. */
export function describeEchoAndTargets(ctx: ComplianceContext): void {
  describe('echo and targets', () => {
    it('echoes bytes and closes cleanly', async () => {
      const { target } = await ctx.serve(echo);
      const s = await ctx.dial(target, { timeoutMs: HANG_BOUND_MS });
      const done = closed(s);
      s.write('hello spoke');
      // Read the echo before ending: a backend without half-close may stop reading at end().
      expect((await readExactly(s, 11)).toString()).toBe('hello spoke');
      s.end();
      expect(await readAll(s)).toHaveLength(0);
      expect(await done).toBeUndefined();
    });

    it('fails a refused target with ERR_DIAL_REFUSED', async () => {
      const target = await ctx.refusedTarget();
      const err = await ctx.dial(target, { timeoutMs: HANG_BOUND_MS }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect((err as SpokeError).code).toBe('ERR_DIAL_REFUSED');
      expect((err as SpokeError).message.length).toBeGreaterThan(20);
    });

    it('fails an unknown host with a coded error', async () => {
      const { target, codes } = ctx.unreachable;
      const err = await ctx.dial(target, { timeoutMs: HANG_BOUND_MS }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect(codes).toContain((err as SpokeError).code);
    });

    it('rejects a malformed target with ERR_BAD_TARGET', async () => {
      for (const bad of ['no-port', 'host:99999', '::1:80', '', 'unix:']) {
        const err = await ctx.dial(bad).catch((e: unknown) => e);
        expect(err, bad).toBeInstanceOf(SpokeError);
        expect((err as SpokeError).code, bad).toBe('ERR_BAD_TARGET');
      }
    });
  });
}
