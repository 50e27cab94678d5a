import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { formatTarget } from '@spoke/transport-core';
import { runNodeFixture, serveTcp } from '@spoke/transport-core/testing';
import { createAgent, createHub } from '@spoke/hub';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a program that dialled through a hub and is done exits without closing its dialer', async () => {
  const hub = await createHub({ agentTokens: ['agent-token'], clientTokens: ['client-token'] });
  cleanups.push(() => hub.destroy());
  const agent = createAgent({
    hub: hub.url,
    id: 'node-1',
    allow: ['127.0.0.1/32'],
    token: 'agent-token',
    tls: { fingerprint: hub.fingerprint as string },
  });
  cleanups.push(() => agent.destroy());
  await agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });
  const target = await serveTcp((socket) => socket.pipe(socket));
  cleanups.push(() => target.close());

  const here = dirname(fileURLToPath(import.meta.url));
  const target0 = typeof target.target === 'string' ? target.target : formatTarget(target.target);
  const exit = await runNodeFixture(join(here, 'fixtures', 'dial-once.ts'), [hub.url, hub.fingerprint as string, 'client-token', target0]);
  expect(exit).toEqual({ code: 0, signal: null, out: 'ping\n' });
});
