import { join } from 'node:path';
import { createNetDialer } from '@spoke/transport-core';
import { waitFor } from '@spoke/transport-core/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createKonnectivityDialer, createKonnectivityFrontEnd, type KonnectivityDialerOptions } from '../src/index.js';
import { expectEndKeptForLateReader } from './carry-cases.js';
import { ourAgent, ourServer, ourTcpServer } from './our-peers.js';
import { servedTargets } from './targets.js';
import { createTestPki, removePki, type TestPki } from './upstream/harness.js';

// A Konnectivity server answers an HTTP-CONNECT client's FIN by closing the connection at once, often
// before the destination has read the upload. Our client's tunnel used to be the net/TLS socket itself,
// which spends its 'end' on EOF whether or not anyone reads, then closes: a caller that uploaded, ended,
// and read only afterwards waited forever (the compliance suite's bulk upload case, over mTLS TCP).

const MiB = 1024 * 1024;
type Over = 'uds' | 'tcp';
type Where = Pick<KonnectivityDialerOptions, 'uds' | 'url' | 'tls'>;

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => removePki(pki));

const tcpWhere = (port: number | undefined): Where => ({
  url: `127.0.0.1:${port ?? 0}`,
  tls: { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem },
});

/** The case through one HTTP-CONNECT server, started once for its describe block. */
function describeLateReader(name: string, start: (over: Over) => Promise<{ where: Where; close(): Promise<void> | void }>): void {
  describe.each(['tcp', 'uds'] as const)(`${name} (HTTP-CONNECT over %s)`, (over) => {
    const targets = servedTargets();
    let peers: { where: Where; close(): Promise<void> | void } | undefined;
    beforeAll(async () => {
      peers = await start(over);
    });
    afterAll(async () => {
      await peers?.close();
      await targets.close();
    });

    it('keeps the end for a caller that reads only after uploading 8 MiB and ending', async () => {
      await expectEndKeptForLateReader(
        (via) => createKonnectivityDialer({ mode: 'http-connect', ...peers?.where, via, endGraceMs: 200 }),
        targets.serve,
        8 * MiB,
      );
    });
  });
}

describeLateReader('createKonnectivityFrontEnd over a net dialer', async (over) => {
  const uds = join(pki.dir, `late-front-end-${over}.sock`);
  const tls = { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem };
  const f = await createKonnectivityFrontEnd({
    dialer: createNetDialer(),
    mode: 'http-connect',
    ...(over === 'uds' ? { uds } : { tcp: { port: 0, tls } }),
  });
  return { where: over === 'uds' ? { uds } : tcpWhere(f.port), close: () => f.destroy() };
});

describeLateReader('createKonnectivityServer and our agent', async (over) => {
  const uds = join(pki.dir, `late-server-${over}.sock`);
  const server =
    over === 'uds' ? await ourServer(pki, 'http-connect', uds, { healthPort: false }) : await ourTcpServer(pki, 'http-connect');
  const agent = ourAgent(pki, server.ports.agent);
  await waitFor(() => server.agents === 1, 'the agent to register');
  return {
    where: over === 'uds' ? { uds } : tcpWhere(server.ports.server),
    async close() {
      await agent.close();
      await server.close();
    },
  };
});
