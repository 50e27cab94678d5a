import { join } from 'node:path';
import { describeDialer, type DialerHarness } from '@spoke/transport-core/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { createKonnectivityDialer } from '../src/index.js';
import { ourAgent, ourServer, ourTcpServer } from './our-peers.js';
import { createTestPki, removePki, waitForHttp } from './upstream/harness.js';
import { startUpstreamPeers, type FrontEnd } from './upstream-peers.js';

const MiB = 1024 * 1024;

// Konnectivity has neither half-close nor reset: a connection ends with CLOSE_REQ/CLOSE_RSP
// (DIAL_CLS while dialling) and the agent reports a destination's FIN and RST alike as CLOSE_RSP.
const capabilities = { halfClose: false, resetReachesServer: false, resetReachesClient: false };
// The agent resolves names with the system resolver; .invalid never resolves (RFC 6761).
const unreachable = { target: 'spoke-test.invalid:80', codes: ['ERR_DIAL_UNREACHABLE' as const] };
const sizes = { bulkBytes: 16 * MiB, concurrentStreams: 50 };
// end() keeps reading until the destination has been silent this long (no half-close);
// the 5 s default would add 5 s to each of the four cases that end() first.
const endGraceMs = 2000;

type Mode = 'grpc' | 'http-connect';

/** A proxy-server with one agent behind it and where its front end is. */
interface Peers {
  frontEnd: FrontEnd;
  close(): Promise<void>;
}

async function ourPeers(mode: Mode, over: 'uds' | 'tcp' = 'uds'): Promise<Peers> {
  const pki = createTestPki();
  const uds = join(pki.dir, 'k.sock');
  const server =
    over === 'uds' ? await ourServer(pki, mode, uds) : await ourTcpServer(pki, mode, { healthPort: 0, healthBindAddress: '127.0.0.1' });
  const agent = ourAgent(pki, server.ports.agent);
  await waitForHttp(`http://127.0.0.1:${server.ports.health}/readyz`, 200);
  return {
    frontEnd:
      over === 'uds'
        ? { mode, uds }
        : { mode, url: `127.0.0.1:${server.ports.server}`, tls: { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem } },
    async close() {
      await agent.close();
      await server.close();
      removePki(pki);
    },
  };
}

/** The suite with one set of peers for all its tests (starting upstream's takes seconds) and a fresh dialer per test. */
function describeThrough(name: string, start: () => Promise<Peers>): void {
  describe('one proxy-server and agent for the suite', () => {
    let peers: Peers;
    beforeAll(async () => {
      peers = await start();
    });
    afterAll(() => peers?.close());
    describeDialer(
      name,
      (): DialerHarness => ({
        dialer: createKonnectivityDialer({ ...peers.frontEnd, endGraceMs }),
        capabilities,
        unreachable,
      }),
      sizes,
    );
  });
}

describeThrough('konnectivity gRPC/UDS → upstream proxy-server → upstream proxy-agent', () => startUpstreamPeers('grpc'));
describeThrough('konnectivity gRPC/UDS → our server → our agent', () => ourPeers('grpc'));
describeThrough('konnectivity HTTP-CONNECT/UDS → our server → our agent', () => ourPeers('http-connect'));
describeThrough('konnectivity HTTP-CONNECT/mTLS TCP → our server → our agent', () => ourPeers('http-connect', 'tcp'));
