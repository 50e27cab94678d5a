import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SpokeError } from '@spoke/transport-core';
import { createKonnectivityServer, type KonnectivityServer, type KonnectivityServerOptions } from '../src/index.js';
import { ourServer } from './our-peers.js';
import { createTestPki, removePki, type TestPki } from './upstream/harness.js';

const MiB = 1024 * 1024;

// The memory bound is about what stays reachable, so collect garbage before each reading.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function liveBytes(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

describe('agent authentication is required (issue 17 #6)', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = createTestPki();
  });
  afterAll(() => removePki(pki));

  const bare = (extra: Partial<KonnectivityServerOptions>): Promise<KonnectivityServer> =>
    createKonnectivityServer({
      udsName: join(pki.dir, 'k.sock'),
      agentPort: 0,
      agentBindAddress: '127.0.0.1',
      healthPort: false,
      clusterCert: pki.serverCertPem,
      clusterKey: pki.serverKeyPem,
      ...extra,
    });

  it('refuses to start without clusterCaCert, agentTokens or tokenReview', async () => {
    const err = (await bare({}).catch((e: unknown) => e)) as SpokeError;
    expect(err.code).toBe('ERR_BAD_OPTION');
    expect(err.message).toMatch(/accept any agent.*--insecure-accept-any-agent/s);
    const empty = (await bare({ agentTokens: [] }).catch((e: unknown) => e)) as SpokeError;
    expect(empty.code).toBe('ERR_BAD_OPTION');
  });

  it('starts with insecureAcceptAnyAgent, warning about the risk', async () => {
    const warnings: string[] = [];
    const server = await bare({ insecureAcceptAnyAgent: true, warn: (m) => warnings.push(m) });
    server.destroy();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/authenticates nobody.*register as an agent/s);
  });

  it('refuses insecureAcceptAnyAgent together with agent authentication', async () => {
    const err = (await bare({ insecureAcceptAnyAgent: true, clusterCaCert: pki.caPem }).catch((e: unknown) => e)) as SpokeError;
    expect(err.code).toBe('ERR_BAD_OPTION');
  });
});

/** What a raw client saw of one `/AgentService/Connect` stream. */
interface Outcome {
  grpcStatus: string | undefined;
  /** The stream closed although we never ended it: only a reset from the server does that. */
  reset: boolean;
}

/**
 * Opens `count` Connect streams on one TLS connection, each sending a 4 MiB gRPC message (and never
 * ending its request), as an attacker without a valid credential does; resolves when every stream is closed,
 * with the growth of live ArrayBuffer memory (the server runs in this process) while the connection is open.
 */
async function flood(
  port: number,
  pki: TestPki,
  count: number,
  headers: http2.OutgoingHttpHeaders,
): Promise<{ outcomes: Outcome[]; grown: number }> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.caPem, maxSessionMemory: 1024 });
  session.on('error', () => {});
  const body = Buffer.alloc(4 * MiB);
  // A message of the largest size allowed, 5 bytes short: a server that reads it holds all of it, waiting for the rest.
  body.writeUInt32BE(body.length, 1);
  // A stream the server never resets stays open: give up on it after a while so the test reports rather than hangs.
  const giveUp = AbortSignal.timeout(15_000);
  try {
    const before = liveBytes();
    const outcomes = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<Outcome>((resolve) => {
            const stream = session.request({
              ':method': 'POST',
              ':path': '/AgentService/Connect',
              'content-type': 'application/grpc',
              te: 'trailers',
              agentid: 'intruder',
              ...headers,
            });
            let grpcStatus: string | undefined;
            stream.on('response', (h) => (grpcStatus ??= h['grpc-status'] as string | undefined));
            stream.on('trailers', (h: http2.IncomingHttpHeaders) => (grpcStatus ??= h['grpc-status'] as string | undefined));
            stream.on('error', () => {});
            stream.on('close', () => resolve({ grpcStatus, reset: true }));
            giveUp.addEventListener('abort', () => resolve({ grpcStatus, reset: false }), { once: true });
            stream.resume();
            stream.write(body);
          }),
      ),
    );
    // Measured with the attacker's connection still open: what the server holds for it now is what it keeps.
    return { outcomes, grown: liveBytes() - before };
  } finally {
    session.destroy();
  }
}

describe('the agent port without credentials (issue 17 #2)', () => {
  let pki: TestPki;
  const cleanups: Array<() => void | Promise<void>> = [];
  beforeAll(() => {
    pki = createTestPki();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => removePki(pki));

  it('caps concurrent streams per connection at 100', async () => {
    const server = await ourServer(pki, 'grpc', join(pki.dir, 'cap.sock'), { clusterCaCert: undefined, agentTokens: ['s3cret'] });
    cleanups.push(() => server.destroy());
    const session = http2.connect(`https://127.0.0.1:${server.ports.agent}`, { ca: pki.caPem });
    cleanups.push(() => session.destroy());
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
  });

  it('answers refused Connect streams with UNAUTHENTICATED and RST_STREAM, buffering none of their bodies (static tokens)', async () => {
    const logs: string[] = [];
    const server = await ourServer(pki, 'grpc', join(pki.dir, 'static.sock'), {
      clusterCaCert: undefined,
      agentTokens: ['s3cret'],
      log: (m) => logs.push(m),
    });
    cleanups.push(() => server.destroy());
    const { outcomes, grown } = await flood(server.ports.agent, pki, 60, { authorization: 'Bearer wrong' });

    expect(outcomes.filter((o) => o.grpcStatus === '16' && o.reset)).toHaveLength(60);
    // 60 streams × 4 MiB were offered; before the fix the server held all of them (240 MiB).
    expect(grown).toBeLessThan(16 * MiB);
    expect(logs.filter((l) => /agent intruder refused/.test(l))).toHaveLength(60);
    expect(server.agents).toBe(0);
  });

  it('refuses a stream that sends while its TokenReview is pending, without buffering it', async () => {
    // An API server that never answers: every review stays pending.
    const hanging = https.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, () => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          hanging.closeAllConnections();
          hanging.close(() => resolve());
        }),
    );
    const kubeconfig = {
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [
        {
          name: 'k',
          cluster: {
            server: `https://127.0.0.1:${(hanging.address() as AddressInfo).port}`,
            'certificate-authority-data': Buffer.from(pki.caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'u', user: { token: 'api-token' } }],
    };
    const server = await ourServer(pki, 'grpc', join(pki.dir, 'review.sock'), {
      clusterCaCert: undefined,
      tokenReview: { kubeconfig, namespace: 'kube-system', serviceAccount: 'konnectivity-agent', timeoutMs: 60_000 },
    });
    cleanups.push(() => server.destroy());
    const { outcomes, grown } = await flood(server.ports.agent, pki, 60, { authorization: 'Bearer anything' });

    expect(outcomes.filter((o) => o.grpcStatus === '16' && o.reset)).toHaveLength(60);
    expect(grown).toBeLessThan(16 * MiB);
    expect(server.agents).toBe(0);
  });
});
