import { describe, expect, it } from 'vitest';
import { SpokeError, isAbortError } from '@spoke/transport-core';
import {
  closed,
  closedTcpPort,
  createHangingTarget,
  readAll,
  serveTcp,
  waitFor,
  waitForStall,
  writeBytes,
} from '@spoke/transport-core/testing';
import { createKonnectivityDialer } from '../src/index.js';
import { throughUpstream } from './upstream-peers.js';
import {
  expectConcurrentDials,
  expectDestroyClosesTarget,
  expectDownloadDigest,
  expectEndKeptForLateReader,
  expectUploadDigest,
} from './carry-cases.js';
import { serveLineUpper } from './targets.js';

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
  const suite = throughUpstream(mode, 200, tcp ? 'tcp' : 'uds');
  const { serve } = suite;

  it('carries a request and the answer of a target that then closes', async () => {
    const target = await serve(serveLineUpper());
    const s = await suite.dialer.dial(target, { signal: AbortSignal.timeout(10_000) });
    s.write('hello konnectivity\n');
    expect((await readAll(s)).toString()).toBe('HELLO KONNECTIVITY\n');
    await closed(s);
  });

  it('carries 8 MiB client to target with a matching sha256 (DATA chunked at 32 KiB)', async () => {
    await expectUploadDigest(suite.dialer, serve, 8 * MiB);
  });

  it('carries 8 MiB server to client and ends cleanly when the target closes', async () => {
    await expectDownloadDigest(suite.dialer, serve, 8 * MiB);
  });

  // The server closes our HTTP-CONNECT connection as soon as our FIN comes (gRPC mode keeps its HTTP/2
  // connection, and its streams never had the problem): the end must wait for a caller that reads late.
  if (mode === 'http-connect') {
    it('keeps the end for a caller that reads only after uploading 8 MiB and ending', async () => {
      await expectEndKeptForLateReader((via) => createKonnectivityDialer({ ...suite.frontEnd, via, endGraceMs: 200 }), serve, 8 * MiB);
    });
  }

  it('runs 20 concurrent connections', async () => {
    await expectConcurrentDials(suite.dialer, serve, 20);
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
    const s = await suite.dialer.dial(target);
    s.pause();
    await waitFor(() => writer !== undefined, 'target started writing');
    await waitForStall(() => written, 'the target to stall', { quietPolls: 30, done: () => written >= total });
    expect(written).toBeLessThan(total);
    s.destroy();
    await closed(s);
  });

  it('destroy() closes the target side', async () => {
    await expectDestroyClosesTarget(suite.dialer, serve);
  });

  it('fails a refused target with ERR_DIAL_REFUSED', async () => {
    const err = await suite.dialer.dial(await closedTcpPort(), { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_DIAL_REFUSED');
  });

  it('fails an unknown host with ERR_DIAL_UNREACHABLE', async () => {
    const err = await suite.dialer.dial('spoke-test.invalid:80', { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect(['ERR_DIAL_UNREACHABLE', 'ERR_DIAL_FAILED']).toContain((err as SpokeError).code);
  });

  it('aborts a pending dial (DIAL_CLS) and times out with ERR_DIAL_TIMEOUT', async () => {
    const hanging = await createHangingTarget();
    try {
      const ac = new AbortController();
      const pending = suite.dialer.dial(hanging.target, { signal: ac.signal });
      setImmediate(() => ac.abort());
      expect(isAbortError(await pending.catch((e: unknown) => e))).toBe(true);
      const err = await suite.dialer.dial(hanging.target, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
    } finally {
      await hanging.close();
    }
  });

  it('rejects unix targets and malformed targets with ERR_BAD_TARGET', async () => {
    for (const bad of ['unix:/tmp/x.sock', 'no-port', 'host:99999']) {
      const err = await suite.dialer.dial(bad).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_BAD_TARGET');
    }
  });
});
