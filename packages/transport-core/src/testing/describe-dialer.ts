import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialer } from '../dialer.js';
import { SpokeError, isAbortError, type SpokeErrorCode } from '../errors.js';
import type { Target } from '../target.js';
import { closed, echo, readAll, readDigest, readExactly, waitFor, writeBytes } from './bytes.js';
import { createHangingTarget } from './hanging-target.js';

/** A service exposed for the suite; `close()` stops accepting and ends its connections. */
export interface ServedTarget {
  target: Target | string;
  close(): Promise<void>;
}

/** What a backend gives the compliance suite. Everything but `dialer` has a TCP default. */
export interface DialerHarness {
  /** The dialer under test. */
  dialer: Dialer;
  /**
   * Exposes `handler` where `dialer` can reach it. Default: a TCP server on
   * 127.0.0.1 port 0 (right for every backend whose far side dials TCP).
   */
  serve?(handler: (stream: Duplex) => void): Promise<ServedTarget>;
  /** A target that refuses connections. Default: a just-closed port on 127.0.0.1. */
  refusedTarget?(): Promise<Target | string>;
  /** A target whose dial never completes. Default: {@link createHangingTarget}. */
  hangingTarget?(): Promise<ServedTarget>;
  /** A host that does not exist and the codes acceptable for it. Default: `spoke-test.invalid:80`, `ERR_DIAL_UNREACHABLE`. */
  unreachable?: { target: Target | string; codes: SpokeErrorCode[] };
  /** Whether a reset by the far side reaches the dialler as an `ERR_STREAM_RESET` error (false: as a plain close). Default true. */
  resetIsError?: boolean;
  /**
   * Declared limits of the backend's protocol; the suite skips nothing silently:
   * each false capability runs a test asserting the documented fallback instead.
   * - `halfClose` (default true): `end()` keeps the other direction open (Konnectivity: no).
   * - `resetReachesServer` / `resetReachesClient` (default true): a reset travels to the
   *   far side as a reset, not a clean end (SSH channels: no; sshd turns RST into EOF).
   */
  capabilities?: { halfClose?: boolean; resetReachesServer?: boolean; resetReachesClient?: boolean };
  /** Frees whatever setup created (servers, hubs, agents). Runs after `dialer.close()`. */
  teardown?(): Promise<void>;
}

/** Sizes the suite uses. */
export interface DialerSuiteOptions {
  /** Bytes moved each way in the bulk tests. Default 64 MiB. */
  bulkBytes?: number;
  /** Streams opened at once in the concurrency test. Default 100. */
  concurrentStreams?: number;
  /** Upper bound of bytes a paused reader may let the writer push. Default 32 MiB. */
  pausedBufferLimit?: number;
}

const MiB = 1024 * 1024;

/**
 * The compliance suite every Dialer runs: echo, bulk transfer with sha256,
 * half-close both ways, reset both ways, abort and timeout without leaks,
 * concurrency, refused and unreachable targets, and bounded buffering under a
 * paused reader.
 */
export function describeDialer(name: string, setup: () => Promise<DialerHarness>, options: DialerSuiteOptions = {}): void {
  const bulk = options.bulkBytes ?? 64 * MiB;
  const concurrent = options.concurrentStreams ?? 100;
  const pausedLimit = options.pausedBufferLimit ?? 32 * MiB;

  describe(`Dialer compliance: ${name}`, () => {
    let h: DialerHarness;
    let dialer: Dialer;
    const served: ServedTarget[] = [];

    const serve = async (handler: (s: Duplex) => void): Promise<Target | string> => {
      const s = await (h.serve ? h.serve(handler) : serveTcp(handler));
      served.push(s);
      return s.target;
    };

    beforeAll(async () => {
      h = await setup();
      dialer = h.dialer;
    });

    afterAll(async () => {
      await Promise.all(served.map((s) => s.close()));
      await dialer?.close();
      await h?.teardown?.();
    });

    it('echoes bytes', async () => {
      const target = await serve(echo);
      const s = await dialer.dial(target, { timeoutMs: 10_000 });
      s.end('hello spoke');
      expect((await readAll(s)).toString()).toBe('hello spoke');
      await closed(s);
    });

    it(`carries ${bulk / MiB} MiB client to server with a matching sha256`, async () => {
      let received: Promise<{ bytes: number; sha256: string }> | undefined;
      const target = await serve((s) => {
        received = readDigest(s);
        received.then(
          () => s.end(),
          () => s.destroy(),
        );
      });
      const s = await dialer.dial(target);
      const sent = await writeBytes(s, bulk);
      await waitFor(() => received !== undefined, 'server saw the stream');
      expect(await received).toEqual(sent);
      await readAll(s);
    });

    it(`carries ${bulk / MiB} MiB server to client with a matching sha256`, async () => {
      let sent: Promise<{ bytes: number; sha256: string }> | undefined;
      const target = await serve((s) => {
        s.on('error', () => {});
        s.resume();
        sent = writeBytes(s, bulk);
      });
      const s = await dialer.dial(target);
      s.end();
      const got = await readDigest(s);
      expect(got).toEqual(await sent);
    });

    const caps = (): Required<NonNullable<DialerHarness['capabilities']>> => ({
      halfClose: true,
      resetReachesServer: true,
      resetReachesClient: true,
      ...h.capabilities,
    });

    it('half-closes client to server: the server still answers after our end() (or, without half-close, the stream ends cleanly)', async () => {
      if (!caps().halfClose) {
        const target = await serve((s) => s.resume());
        const s = await dialer.dial(target);
        s.end('bye');
        s.resume();
        expect(await closed(s)).toBeUndefined();
        return;
      }
      const target = await serve(async (s) => {
        const req = await readAll(s);
        s.end(`got ${req.length} bytes`);
      });
      const s = await dialer.dial(target);
      s.end(Buffer.alloc(1000, 7));
      expect((await readAll(s)).toString()).toBe('got 1000 bytes');
    });

    it('half-closes server to client: we can still write after its end() (or, without half-close, we see the end)', async () => {
      if (!caps().halfClose) {
        const target = await serve((s) => s.end('bye'));
        const s = await dialer.dial(target);
        expect((await readAll(s)).toString()).toBe('bye');
        return;
      }
      let after: Promise<Buffer> | undefined;
      const target = await serve((s) => {
        s.end('bye');
        after = readAll(s);
      });
      const s = await dialer.dial(target);
      expect((await readAll(s)).toString()).toBe('bye');
      s.end('still here');
      await waitFor(() => after !== undefined, 'server saw the stream');
      expect((await after)?.toString()).toBe('still here');
    });

    it('propagates a reset from the client: the server side closes', async () => {
      let serverClosed: Promise<Error | undefined> | undefined;
      let seen!: () => void;
      const ready = new Promise<void>((r) => (seen = r));
      const target = await serve((s) => {
        serverClosed = closed(s);
        // Without reset propagation the far side sees a clean end: answer it with ours.
        if (!caps().resetReachesServer) s.once('end', () => s.end());
        s.resume();
        s.write('x');
        seen();
      });
      const s = await dialer.dial(target);
      await readExactly(s, 1);
      await ready;
      s.destroy();
      await serverClosed;
      expect(s.destroyed).toBe(true);
    });

    it('propagates a reset from the server to the client', async () => {
      const target = await serve((s) => {
        s.on('error', () => {});
        s.once('data', () => {
          const sock = s as Duplex & { resetAndDestroy?: () => void };
          if (sock instanceof net.Socket) sock.resetAndDestroy();
          else s.destroy(new Error('reset by test server'));
        });
      });
      const s = await dialer.dial(target);
      const done = closed(s);
      // Without reset propagation we see a clean end: a half-closing stream then waits for ours.
      if (!caps().resetReachesClient) s.once('end', () => s.end());
      s.resume();
      s.write('trigger');
      const err = await done;
      if ((h.resetIsError ?? true) && caps().resetReachesClient) {
        expect(err).toBeInstanceOf(SpokeError);
        expect((err as SpokeError).code).toBe('ERR_STREAM_RESET');
      }
      expect(s.destroyed).toBe(true);
    });

    it('rejects an already-aborted dial with AbortError and connects nothing', async () => {
      let connections = 0;
      const target = await serve((s) => {
        connections++;
        s.destroy();
      });
      const ac = new AbortController();
      ac.abort();
      const err = await dialer.dial(target, { signal: ac.signal }).catch((e: unknown) => e);
      expect(isAbortError(err)).toBe(true);
      // A follow-up dial proves the service is up and counts as the only connection.
      const s = await dialer.dial(target);
      s.on('error', () => {});
      s.resume();
      s.end();
      await closed(s);
      expect(connections).toBe(1);
    });

    it('aborts a dial in progress with AbortError and leaves no stream open', async () => {
      let serverSide: Promise<Error | undefined> | undefined;
      const target = await serve((s) => {
        serverSide = closed(s);
        s.resume();
      });
      const ac = new AbortController();
      const pending = dialer.dial(target, { signal: ac.signal });
      ac.abort();
      const err = await pending.catch((e: unknown) => e);
      expect(isAbortError(err)).toBe(true);
      // If the connection reached the server before the abort won, it must be torn down.
      if (serverSide) await serverSide;
    });

    describe('against a target that never answers', () => {
      let hanging: ServedTarget;
      beforeAll(async () => {
        hanging = h.hangingTarget ? await h.hangingTarget() : await createHangingTarget();
      });
      afterAll(async () => {
        await hanging?.close();
      });

      it('aborts with AbortError while connecting and leaks no socket', async () => {
        const before = activeSockets();
        const ac = new AbortController();
        const pending = dialer.dial(hanging.target, { signal: ac.signal });
        setImmediate(() => ac.abort());
        const err = await pending.catch((e: unknown) => e);
        expect(isAbortError(err)).toBe(true);
        await waitFor(() => activeSockets() <= before, 'the aborted socket to be released');
      });

      it('fails with ERR_DIAL_TIMEOUT after timeoutMs', async () => {
        const err = await dialer.dial(hanging.target, { timeoutMs: 200 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SpokeError);
        expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
        expect((err as SpokeError).message).toMatch(/timed out/);
      });

      it('maps AbortSignal.timeout() to ERR_DIAL_TIMEOUT', async () => {
        const err = await dialer.dial(hanging.target, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SpokeError);
        expect((err as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
      });
    });

    it(`runs ${concurrent} concurrent streams`, async () => {
      const target = await serve(echo);
      const payload = (i: number): Buffer => Buffer.alloc(64 * 1024, i % 251);
      const results = await Promise.all(
        Array.from({ length: concurrent }, async (_, i) => {
          const s = await dialer.dial(target);
          s.end(payload(i));
          return (await readAll(s)).equals(payload(i));
        }),
      );
      expect(results.every(Boolean)).toBe(true);
    });

    it('fails a refused target with ERR_DIAL_REFUSED', async () => {
      const target = h.refusedTarget ? await h.refusedTarget() : await closedTcpPort();
      const err = await dialer.dial(target, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect((err as SpokeError).code).toBe('ERR_DIAL_REFUSED');
      expect((err as SpokeError).message.length).toBeGreaterThan(20);
    });

    it('fails an unknown host with a coded error', async () => {
      const u = h.unreachable ?? { target: 'spoke-test.invalid:80', codes: ['ERR_DIAL_UNREACHABLE'] as SpokeErrorCode[] };
      const err = await dialer.dial(u.target, { timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect(u.codes).toContain((err as SpokeError).code);
    });

    it('rejects a malformed target with ERR_BAD_TARGET', async () => {
      for (const bad of ['no-port', 'host:99999', '::1:80', '', 'unix:']) {
        const err = await dialer.dial(bad).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SpokeError);
        expect((err as SpokeError).code).toBe('ERR_BAD_TARGET');
      }
    });

    it('holds the writer back while the reader is paused (bounded buffering)', async () => {
      let written = 0;
      let writer: Promise<unknown> | undefined;
      const total = pausedLimit * 3;
      const target = await serve((s) => {
        s.on('error', () => {});
        writer = writeBytes(s, total, { onProgress: (n) => (written = n) });
      });
      const s = await dialer.dial(target);
      s.pause();
      await waitFor(() => writer !== undefined, 'server started writing');
      // Wait until the writer stalls: no progress between polls.
      let last = -1;
      let still = 0;
      await waitFor(
        () => {
          still = written === last ? still + 1 : 0;
          last = written;
          return still >= 20 || written >= total;
        },
        'the writer to stall',
        30_000,
      );
      expect(written).toBeLessThan(pausedLimit);
      const got = readDigest(s);
      s.resume();
      s.end();
      expect((await got).bytes).toBe(total);
      await writer;
    });

    it('refuses dials after close() with a coded error', async () => {
      const target = await serve(echo);
      await dialer.close();
      const err = await dialer.dial(target).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect(['ERR_DIALER_CLOSED', 'ERR_TUNNEL_CLOSED']).toContain((err as SpokeError).code);
    });
  });
}

/** Open TCP and pipe handles of this process (for leak checks). */
export function activeSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'PipeWrap' || r === 'TCPWRAP' || r === 'PIPEWRAP')
    .length;
}

/** Serves `handler` on a TCP listener at 127.0.0.1, port 0. */
export async function serveTcp(handler: (s: Duplex) => void): Promise<ServedTarget> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    // Services see resets as part of the job (the reset tests cause them); observe them via 'close'.
    s.on('error', () => {});
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    handler(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    target: { host: '127.0.0.1', port },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A 127.0.0.1 port that was just free: connecting to it is refused. */
export async function closedTcpPort(): Promise<Target> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return { host: '127.0.0.1', port };
}
