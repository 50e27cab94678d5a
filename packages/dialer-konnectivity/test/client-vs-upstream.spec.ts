import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpokeError, isAbortError, type Dialer } from '@spoke/transport-core';
import {
  closed,
  closedTcpPort,
  createHangingTarget,
  readAll,
  readDigest,
  serveTcp,
  waitFor,
  writeBytes,
  type ServedTarget,
} from '@spoke/transport-core/testing';
import { createKonnectivityDialer } from '../src/index.js';
import {
  createTestPki,
  removePki,
  startUpstreamAgent,
  startUpstreamServer,
  waitForHttp,
  type Proc,
  type TestPki,
} from './upstream/harness.js';
import { addr, expectDestroyClosesTarget, serveDigestSink, serveLineUpper } from './targets.js';

const MiB = 1024 * 1024;

interface Setup {
  name: string;
  mode: 'grpc' | 'http-connect';
  tcp: boolean;
}

const setups: Setup[] = [
  { name: 'gRPC over UDS', mode: 'grpc', tcp: false },
  { name: 'HTTP-CONNECT over UDS', mode: 'http-connect', tcp: false },
  { name: 'HTTP-CONNECT over mTLS TCP', mode: 'http-connect', tcp: true },
];

describe.each(setups)('our client → upstream proxy-server → upstream proxy-agent ($name)', ({ mode, tcp }) => {
  let pki: TestPki;
  let server: { proc: Proc; ports: { healthPort: number; agentPort: number; serverPort: number } };
  let agent: { proc: Proc };
  let dialer: Dialer;
  const targets: ServedTarget[] = [];
  const serve = async (t: Promise<ServedTarget>): Promise<string> => {
    const s = await t;
    targets.push(s);
    return addr(s);
  };

  beforeAll(async () => {
    pki = createTestPki();
    const uds = tcp ? undefined : join(pki.dir, 'konnectivity.sock');
    server = await startUpstreamServer({ mode, pki, ...(uds ? { uds } : {}) });
    agent = await startUpstreamAgent({ agentPort: server.ports.agentPort, pki });
    await waitForHttp(`http://127.0.0.1:${server.ports.healthPort}/readyz`, 200, server.proc);
    dialer = createKonnectivityDialer({
      mode,
      ...(uds
        ? { uds }
        : { url: `127.0.0.1:${server.ports.serverPort}`, tls: { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem } }),
      endGraceMs: 200,
    });
  });

  afterAll(async () => {
    await dialer?.close();
    await Promise.all(targets.map((t) => t.close()));
    await agent?.proc.kill();
    await server?.proc.stop();
    removePki(pki);
  });

  it('carries a request and the answer of a target that then closes', async () => {
    const target = await serve(serveLineUpper());
    const s = await dialer.dial(target, { signal: AbortSignal.timeout(10_000) });
    s.write('hello konnectivity\n');
    expect((await readAll(s)).toString()).toBe('HELLO KONNECTIVITY\n');
    await closed(s);
  });

  it('carries 8 MiB client to target with a matching sha256 (DATA chunked at 32 KiB)', async () => {
    const total = 8 * MiB;
    const target = await serve(serveDigestSink(total));
    const s = await dialer.dial(target);
    const answer = readAll(s);
    const sent = await writeBytes(s, total, { end: false });
    expect((await answer).toString()).toBe(`${sent.bytes} ${sent.sha256}`);
  });

  it('carries 8 MiB server to client and ends cleanly when the target closes', async () => {
    let sent: Promise<{ bytes: number; sha256: string }> | undefined;
    const target = await serve(
      serveTcp((t) => {
        t.on('error', () => {});
        t.resume();
        sent = writeBytes(t, 8 * MiB);
      }),
    );
    const s = await dialer.dial(target);
    const got = await readDigest(s);
    expect(got).toEqual(await sent);
  });

  it('runs 20 concurrent connections', async () => {
    const target = await serve(serveLineUpper());
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const s = await dialer.dial(target);
        s.write(`line ${i}\n`);
        return (await readAll(s)).toString() === `LINE ${i}\n`;
      }),
    );
    expect(results.every(Boolean)).toBe(true);
  });

  it('holds the target back while our reader is paused', async () => {
    let written = 0;
    let writer: Promise<unknown> | undefined;
    const total = 64 * MiB;
    const target = await serve(
      serveTcp((t) => {
        t.on('error', () => {});
        writer = writeBytes(t, total, { onProgress: (n) => (written = n) }).catch(() => undefined);
      }),
    );
    const s = await dialer.dial(target);
    s.pause();
    await waitFor(() => writer !== undefined, 'target started writing');
    let last = -1;
    let still = 0;
    await waitFor(
      () => {
        still = written === last ? still + 1 : 0;
        last = written;
        return still >= 30 || written >= total;
      },
      'the target to stall',
      30_000,
    );
    expect(written).toBeLessThan(total);
    s.destroy();
    await closed(s);
  });

  it('destroy() closes the target side', async () => {
    await expectDestroyClosesTarget(dialer, serve);
  });

  it('fails a refused target with ERR_DIAL_REFUSED', async () => {
    const err = await dialer.dial(await closedTcpPort(), { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_DIAL_REFUSED');
  });

  it('fails an unknown host with ERR_DIAL_UNREACHABLE', async () => {
    const err = await dialer.dial('spoke-test.invalid:80', { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect(['ERR_DIAL_UNREACHABLE', 'ERR_DIAL_FAILED']).toContain((err as SpokeError).code);
  });

  it('aborts a pending dial (DIAL_CLS) and times out with ERR_DIAL_TIMEOUT', async () => {
    const hanging = await createHangingTarget();
    try {
      const ac = new AbortController();
      const pending = dialer.dial(hanging.target, { signal: ac.signal });
      setImmediate(() => ac.abort());
      expect(isAbortError(await pending.catch((e: unknown) => e))).toBe(true);
      const err = await dialer.dial(hanging.target, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
    } finally {
      await hanging.close();
    }
  });

  it('rejects unix targets and malformed targets with ERR_BAD_TARGET', async () => {
    for (const bad of ['unix:/tmp/x.sock', 'no-port', 'host:99999']) {
      const err = await dialer.dial(bad).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_BAD_TARGET');
    }
  });
});
