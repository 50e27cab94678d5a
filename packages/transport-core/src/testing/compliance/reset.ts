import net from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SpokeError } from '../../errors.js';
import { closed } from '../bytes.js';
import { readExactly } from '../../read-until.js';
import type { ComplianceContext } from './context.js';

/** A reset by either side reaches the other (or, where the protocol cannot carry one, arrives as a clean end). */
export function describeReset(ctx: ComplianceContext): void {
  describe('reset', () => {
    it('propagates a reset from the client: the server side closes', async () => {
      const reaches = ctx.caps.resetReachesServer;
      const service = await ctx.serve((s) => {
        const done = closed(s);
        // Without reset propagation the far side sees a clean end: answer it with ours.
        if (!reaches) s.once('end', () => s.end());
        s.resume();
        s.write('x');
        return done;
      });
      const s = await ctx.dial(service.target);
      // The byte proves the server holds its side before we reset ours.
      await readExactly(s, 1);
      s.destroy();
      const err = await service.result;
      if (reaches) expect(err, 'the server sees the reset as an error').toBeInstanceOf(Error);
      else expect(err, 'the server sees a clean end').toBeUndefined();
    });

    it('propagates a reset from the server to the client', async () => {
      const reaches = ctx.caps.resetReachesClient;
      const { target } = await ctx.serve((s) => {
        s.on('error', () => {});
        s.once('data', () => reset(s));
      });
      const s = await ctx.dial(target);
      const done = closed(s);
      let ended = false;
      s.once('end', () => {
        ended = true;
        // Without reset propagation we see a clean end: a half-closing stream then waits for ours.
        if (!reaches) s.end();
      });
      s.resume();
      s.write('trigger');
      const err = await done;
      if (!reaches) {
        expect(err, 'a clean close').toBeUndefined();
        expect(ended, 'a clean end').toBe(true);
      } else if (ctx.harness.resetIsError ?? true) {
        expect(err).toBeInstanceOf(SpokeError);
        expect((err as SpokeError).code).toBe('ERR_STREAM_RESET');
      } else {
        expect(ended, 'a reset is no clean end').toBe(false);
      }
    });
  });
}

/** Resets a server-side stream: a TCP RST where it is a socket, else a destroy with an error. */
function reset(s: Duplex): void {
  if (s instanceof net.Socket) s.resetAndDestroy();
  else s.destroy(new Error('reset by test server'));
}
