import { describe, expect, it } from 'vitest';
import { closed, readAll, readDigest, writeBytes } from '../bytes.js';
import type { ComplianceContext } from './context.js';
import { MiB } from './harness.js';

/** Bulk transfer each way, checked end to end by sha256. */
export function describeBulkTransfer(ctx: ComplianceContext): void {
  const mib = `${ctx.sizes.bulkBytes / MiB} MiB`;

  describe('bulk transfer', () => {
    it(`carries ${mib} client to server with a matching sha256`, async () => {
      const service = await ctx.serve(async (s) => {
        const digest = await readDigest(s);
        s.end();
        return digest;
      });
      const s = await ctx.dial(service.target);
      const sent = await writeBytes(s, ctx.sizes.bulkBytes);
      expect(await service.result).toEqual(sent);
      expect(await readAll(s)).toHaveLength(0);
    });

    it(`carries ${mib} server to client with a matching sha256`, async () => {
      const service = await ctx.serve((s) => {
        s.resume();
        return writeBytes(s, ctx.sizes.bulkBytes);
      });
      const s = await ctx.dial(service.target);
      const done = closed(s);
      const got = await readDigest(s);
      expect(got).toEqual(await service.result);
      // Our end only after the data: without half-close, end() stops reading after a quiet spell.
      s.end();
      expect(await done).toBeUndefined();
    });
  });
}
