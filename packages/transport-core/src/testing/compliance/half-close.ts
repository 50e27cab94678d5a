import { describe, expect, it } from 'vitest';
import { closed, readAll } from '../bytes.js';
import type { ComplianceContext } from './context.js';

/** `end()` in either direction, or the clean end a backend without half-close documents instead. */
export function describeHalfClose(ctx: ComplianceContext): void {
  describe('half-close', () => {
    it('half-closes client to server: the server still answers after our end() (or, without half-close, the stream ends cleanly)', async () => {
      if (!ctx.caps.halfClose) {
        const { target } = await ctx.serve((s) => s.resume());
        const s = await ctx.dial(target);
        s.end('bye');
        s.resume();
        expect(await closed(s)).toBeUndefined();
        return;
      }
      const { target } = await ctx.serve(async (s) => {
        const req = await readAll(s);
        s.end(`got ${req.length} bytes`);
      });
      const s = await ctx.dial(target);
      s.end(Buffer.alloc(1000, 7));
      expect((await readAll(s)).toString()).toBe('got 1000 bytes');
    });

    it('half-closes server to client: we can still write after its end() (or, without half-close, we see the end)', async () => {
      if (!ctx.caps.halfClose) {
        const { target } = await ctx.serve((s) => s.end('bye'));
        const s = await ctx.dial(target);
        expect((await readAll(s)).toString()).toBe('bye');
        return;
      }
      const service = await ctx.serve((s) => {
        s.end('bye');
        return readAll(s);
      });
      const s = await ctx.dial(service.target);
      expect((await readAll(s)).toString()).toBe('bye');
      s.end('still here');
      expect((await service.result).toString()).toBe('still here');
    });
  });
}
