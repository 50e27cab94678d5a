import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { formatTarget } from '@spoke/transport-core';
import { runNodeFixture, serveTcp } from '@spoke/transport-core/testing';
import { startHubAndAgent } from './hub-agent.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a program that dialled through a hub and is done exits without closing its dialer', async () => {
  const { hub, agent } = await startHubAndAgent({ agent: 'agent-token', client: 'client-token' });
  cleanups.push(() => hub.destroy());
  cleanups.push(() => agent.destroy());
  const target = await serveTcp((socket) => socket.pipe(socket));
  cleanups.push(() => target.close());

  const here = dirname(fileURLToPath(import.meta.url));
  const target0 = typeof target.target === 'string' ? target.target : formatTarget(target.target);
  const exit = await runNodeFixture(join(here, 'fixtures', 'dial-once.ts'), [hub.url, hub.fingerprint as string, 'client-token', target0]);
  expect(exit).toEqual({ code: 0, signal: null, out: 'ping\n' });
});
