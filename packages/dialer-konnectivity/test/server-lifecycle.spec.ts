import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ourServer } from './our-peers.js';
import { createTestPki, removePki, type TestPki } from './upstream/harness.js';

const listening = async (port = 0): Promise<net.Server> => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
};
const close = (server: net.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('our server start-up', () => {
  let pki: TestPki | undefined;
  const servers: net.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await close(s);
    if (pki) removePki(pki);
    pki = undefined;
  });

  it('leaves nothing listening when its health port is taken', async () => {
    pki = createTestPki();
    const uds = join(pki.dir, 'k.sock');
    const taken = await listening();
    servers.push(taken);
    // A free port for the agent side, released so the server can take it.
    const probe = await listening();
    const agentPort = (probe.address() as AddressInfo).port;
    await close(probe);

    const err = await ourServer(pki, 'grpc', uds, { agentPort, healthPort: (taken.address() as AddressInfo).port }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ERR_BAD_OPTION' });
    expect((err as Error).message).toMatch(/health server cannot listen/);
    // The agent port and the front end's unix socket were released again.
    servers.push(await listening(agentPort));
    const front = net.connect(uds);
    const refused = await new Promise<string | undefined>((resolve) => {
      front.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      front.once('connect', () => resolve(undefined));
    });
    front.destroy();
    expect(['ECONNREFUSED', 'ENOENT']).toContain(refused);
  });
});
