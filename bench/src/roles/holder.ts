import type { Duplex } from 'node:stream';
import type { Session } from '@spoke/transport-core';
import { once } from 'node:events';
import { connectSession, inBatches, sessionOpener, tcpOpener, type Opener } from '../client.js';
import { sampleMemory } from '../memory.js';
import { OP_ECHO } from '../target-protocol.js';
import { numberArg, type Role } from './role.js';

/**
 * The client side of the memory row, alone in its process so that its memory
 * is only what the idle connections or streams cost. `prepare` sets up the path
 * (a session for spoke), `open` opens N streams that each echo one byte and
 * then sit idle, measuring memory before and after.
 */
export function startHolder(): Role {
  let session: Session | undefined;
  let opener: Opener | undefined;
  const held: Duplex[] = [];
  return {
    info: {},
    commands: {
      async prepare(args) {
        const mode = args['mode'];
        if (mode === 'spoke') {
          session = await connectSession('ws', numberArg(args, 'relayPort'));
          opener = sessionOpener(session, numberArg(args, 'targetPort'));
        } else {
          opener = tcpOpener(numberArg(args, 'port'));
        }
        // Warm the code paths (and the allocator) before the baseline sample.
        await openIdle(opener, 200, held);
        closeAll(held);
        return null;
      },
      async open(args) {
        if (opener === undefined) throw new Error('prepare first');
        const before = await sampleMemory();
        const t0 = performance.now();
        await openIdle(opener, numberArg(args, 'n'), held);
        const ms = performance.now() - t0;
        const after = await sampleMemory();
        return { before, after, ms };
      },
      closeAll() {
        closeAll(held);
        return null;
      },
    },
    close() {
      closeAll(held);
      session?.destroy();
    },
  };
}

async function openIdle(opener: Opener, n: number, into: Duplex[]): Promise<void> {
  await inBatches(n, 256, async () => {
    const stream = await opener();
    stream.on('error', () => {});
    into.push(stream);
    // One byte through proves the whole path is up; then the stream idles, paused, with no listener left.
    const answered = once(stream, 'data');
    stream.write(Buffer.from([OP_ECHO, 0x78]));
    await answered;
    stream.pause();
  });
}

function closeAll(held: Duplex[]): void {
  for (const s of held.splice(0)) s.destroy();
}
