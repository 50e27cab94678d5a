import { describe, expect, it } from 'vitest';
import { SpokeError } from '../../errors.js';
import { closed, echo } from '../bytes.js';
import { readExactly } from '../../read-until.js';
import type { ComplianceContext } from './context.js';

/** The dialer's own life: once closed, it refuses new dials with a code. */
export function describeLifecycle(ctx: ComplianceContext): void {
  describe('lifecycle', () => {
    it('refuses dials after close() with a coded error', async () => {
      const { target } = await ctx.serve(echo);
      // One round trip first, so a backend that pools connections has one open when it closes.
      const s = await ctx.dial(target);
      s.write('x');
      expect((await readExactly(s, 1)).toString()).toBe('x');
      // Destroyed rather than ended: a backend without half-close would wait for a quiet spell first.
      s.destroy();
      await closed(s);
      await ctx.dialer.close();
      const err = await ctx.dial(target).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect(['ERR_DIALER_CLOSED', 'ERR_TUNNEL_CLOSED']).toContain((err as SpokeError).code);
    });
  });
}
