import type { Duplex } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTarget } from '@spoke/transport-core';
import { runNodeFixture, serveTcp, type ServedTarget } from '@spoke/transport-core/testing';
import { startSshd, type Sshd } from '../src/testing/sshd.js';
import { sshdLogin } from './logins.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('a program that dialled through SSH and did not close its dialer', () => {
  let sshd: Sshd;
  let target: ServedTarget;
  // The target side of the child's stream: answers 'ping', then waits for the test to end it.
  let accepted: Promise<Duplex>;
  let accept: (s: Duplex) => void;

  beforeAll(async () => {
    sshd = await startSshd();
    target = await serveTcp((socket) => {
      socket.on('error', () => {});
      socket.once('data', (b: Buffer) => {
        socket.write(b);
        accept(socket);
      });
    });
  });
  afterAll(async () => {
    await target?.close();
    await sshd?.cleanup();
  });

  /** Runs the fixture; the exit code, signal and stdout once it exits (SIGKILLed after 20 s: the bound, not a wait). */
  const run = (mode: 'done' | 'hold', hops: 1 | 2, onOutput?: (out: string) => void) => {
    accepted = new Promise((resolve) => (accept = resolve));
    const plan = {
      mode,
      hops,
      server: sshdLogin(sshd),
      target: typeof target.target === 'string' ? target.target : formatTarget(target.target),
    };
    return runNodeFixture(join(here, 'fixtures', 'dial-once.ts'), [JSON.stringify(plan)], onOutput ? { onOutput } : {});
  };

  it.each([1, 2] as const)('exits by itself once its stream is closed (%i hop)', async (hops) => {
    expect(await run('done', hops)).toEqual({ code: 0, signal: null, out: 'ping\n' });
  });

  it.each([1, 2] as const)('stays alive while a stream is open, then exits (%i hop)', async (hops) => {
    // The target ends the stream only after the child has answered; a child held by nothing would be gone by then.
    const result = await run('hold', hops, (out) => {
      if (out === 'ping\n') void accepted.then((s) => s.end());
    });
    expect(result).toEqual({ code: 0, signal: null, out: 'ping\nclosed\n' });
  });
});
