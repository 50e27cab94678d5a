import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Dialer } from '@spoke/transport-core';
import { createKonnectivityDialer, type KonnectivityDialerOptions } from '../src/index.js';
import { servedTargets, type Serve } from './targets.js';
import { createTestPki, removePki, startUpstreamAgent, startUpstreamServer, waitForHttp } from './upstream/harness.js';

/** Where and how a dialer reaches a proxy-server's front end. */
export type FrontEnd = Pick<KonnectivityDialerOptions, 'mode' | 'uds' | 'url' | 'tls'>;

/** Upstream proxy-server with upstream proxy-agent registered behind it, on a fresh test PKI. */
export interface UpstreamPeers {
  frontEnd: FrontEnd;
  /** Stops both and removes the PKI directory (with the unix socket). */
  close(): Promise<void>;
}

/**
 * Starts both upstream binaries and waits for the server's /readyz, which answers 200 only once
 * the agent has registered. The front end is a unix socket, or mTLS TCP on 127.0.0.1 with `'tcp'`.
 */
export async function startUpstreamPeers(mode: 'grpc' | 'http-connect', over: 'uds' | 'tcp' = 'uds'): Promise<UpstreamPeers> {
  const pki = createTestPki();
  const uds = over === 'uds' ? join(pki.dir, 'k.sock') : undefined;
  const server = await startUpstreamServer({ mode, pki, ...(uds ? { uds } : {}) });
  const agent = await startUpstreamAgent({ agentPort: server.ports.agentPort, pki });
  await waitForHttp(`http://127.0.0.1:${server.ports.healthPort}/readyz`, 200, server.proc);
  const frontEnd: FrontEnd = uds
    ? { mode, uds }
    : { mode, url: `127.0.0.1:${server.ports.serverPort}`, tls: { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem } };
  return {
    frontEnd,
    async close() {
      await agent.proc.kill();
      await server.proc.stop();
      removePki(pki);
    },
  };
}

/** What {@link throughUpstream} gives a suite's tests. */
export interface UpstreamSuite {
  /** Our dialer through the peers (set once beforeAll has run). */
  readonly dialer: Dialer;
  /** Where the peers' front end is, for a dialer of a test's own (set once beforeAll has run). */
  readonly frontEnd: FrontEnd;
  /** Serves a target for the suite (closed in its afterAll) and answers its `host:port`. */
  serve: Serve;
}

/**
 * Registers a describe block's beforeAll/afterAll: upstream peers, one dialer through them with
 * `endGraceMs`, and the targets its tests serve, all closed after the block.
 */
export function throughUpstream(mode: 'grpc' | 'http-connect', endGraceMs: number, over: 'uds' | 'tcp' = 'uds'): UpstreamSuite {
  let peers: UpstreamPeers | undefined;
  let dialer: Dialer | undefined;
  const targets = servedTargets();
  beforeAll(async () => {
    peers = await startUpstreamPeers(mode, over);
    dialer = createKonnectivityDialer({ ...peers.frontEnd, endGraceMs });
  });
  afterAll(async () => {
    await dialer?.close();
    await targets.close();
    await peers?.close();
  });
  return {
    get dialer(): Dialer {
      if (!dialer) throw new Error('throughUpstream: the dialer exists once beforeAll has run');
      return dialer;
    },
    get frontEnd(): FrontEnd {
      if (!peers) throw new Error('throughUpstream: the peers exist once beforeAll has run');
      return peers.frontEnd;
    },
    serve: targets.serve,
  };
}
