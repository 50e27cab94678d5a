import { describe, expect, it } from 'vitest';
import { closed, echo } from '../bytes.js';
import { readExactly } from '../../read-until.js';
import type { ComplianceContext } from './context.js';

/** Many streams at once, each with its own bytes. */
export function describeConcurrency(ctx: ComplianceContext): void {
  describe('concurrency', () => {
    it(`runs ${ctx.sizes.concurrentStreams} concurrent streams`, async () => {
      const { target } = await ctx.serve(echo);
      const payload = (i: number): Buffer => Buffer.alloc(64 * 1024, i % 251);
      const outcomes = await Promise.all(
        Array.from({ length: ctx.sizes.concurrentStreams }, async (_, i) => {
          const s = await ctx.dial(target);
          const done = closed(s);
          s.write(payload(i));
          // The whole echo before our end: a backend without half-close may stop reading at end().
          const back = await readExactly(s, payload(i).length);
          s.end();
          s.resume();
          return { intact: back.equals(payload(i)), error: await done };
        }),
      );
      expect(
        outcomes.flatMap((o, i) => (o.intact ? [] : [i])),
        'streams whose echo differs',
      ).toEqual([]);
      expect(
        outcomes.flatMap((o, i) => (o.error ? [`${i}: ${o.error.message}`] : [])),
        'streams closed with an error',
      ).toEqual([]);
    });
  });
}
