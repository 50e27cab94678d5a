import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { readDigest, waitFor, writeBytes } from '../bytes.js';
import type { ComplianceContext } from './context.js';
import { HANG_BOUND_MS } from './harness.js';

// How long a writer blocked on 'drain' must make no progress to count as held back. Judging
// too early under load only makes the check weaker (less was written); it cannot fail it.
const STALLED_MS = 1000;

/** A paused reader holds the far writer back: nothing buffers without bound in between. */
export function describeBoundedBuffering(ctx: ComplianceContext): void {
  describe('bounded buffering', () => {
    it('holds the writer back while the reader is paused (bounded buffering)', async () => {
      const limit = ctx.sizes.pausedBufferLimit;
      const total = limit * 3;
      let written = 0;
      let progressAt = performance.now();
      const service = await ctx.serve((s) => {
        s.on('error', () => {});
        return writeBytes(s, total, {
          onProgress: (n) => {
            written = n;
            progressAt = performance.now();
          },
        });
      });
      const s = await ctx.dial(service.target);
      s.pause();
      const writer = await service.accepted;
      await waitFor(
        () => written >= total || (writer.writableNeedDrain && performance.now() - progressAt >= STALLED_MS),
        'the writer to block on drain and stall',
        HANG_BOUND_MS,
      );
      expect(written).toBeLessThan(limit);
      const got = readDigest(s);
      s.resume();
      expect(await got).toEqual(await service.result);
      s.end();
    });
  });
}
