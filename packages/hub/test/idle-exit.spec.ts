import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { formatTarget } from '@spoke/transport-core';
import { serveTcp } from '@spoke/transport-core/testing';
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
  const child = spawn(
    process.execPath,
    [
      '--conditions=@spoke/source',
      '--import',
      join(here, '..', '..', '..', 'scripts', 'ts-register.mjs'),
      join(here, 'fixtures', 'dial-once.ts'),
      hub.url,
      hub.fingerprint as string,
      'client-token',
      typeof target.target === 'string' ? target.target : formatTarget(target.target),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // A bound, not a wait: the child should be gone long before (an unreferenced idle session).
  const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
  cleanups.push(() => {
    clearTimeout(kill);
    child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  expect(out).toBe('ping\n');
  expect({ code, signal }).toEqual({ code: 0, signal: null });
});
