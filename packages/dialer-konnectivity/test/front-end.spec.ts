import { statSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import tls from 'node:tls';
import { SpokeError, createNetDialer, formatTarget, isAbortError, type Dialer } from '@spoke/transport-core';
import {
  closed,
  closedTcpPort,
  describeDialer,
  readAll,
  serveTcp,
  waitFor,
  waitForStall,
  writeBytes,
  type DialerHarness,
} from '@spoke/transport-core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKonnectivityDialer, createKonnectivityFrontEnd, type KonnectivityFrontEnd } from '../src/index.js';
import { serveLineUpper, servedTargets } from './targets.js';
import { goMtlsConnectArgs, runGoClient } from './upstream/go-client.js';
import { createTestPki, removePki, type TestPki } from './upstream/harness.js';

const MiB = 1024 * 1024;
type Mode = 'grpc' | 'http-connect';

// The front end has the Konnectivity protocol's limits whatever dialer it serves: no half-close, no reset.
const capabilities = { halfClose: false, resetReachesServer: false, resetReachesClient: false };
const unreachable = { target: 'spoke-test.invalid:80', codes: ['ERR_DIAL_UNREACHABLE' as const] };

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => removePki(pki));

/** The compliance suite through our client → createKonnectivityFrontEnd → a plain net dialer. */
function describeThroughFrontEnd(mode: Mode, over: 'uds' | 'tcp'): void {
  describe(`${mode}/${over} front end over a net dialer`, () => {
    let frontEnd: KonnectivityFrontEnd;
    let uds: string;
    beforeAll(async () => {
      uds = join(pki.dir, `${mode}-${over}.sock`);
      const tlsFiles = { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem };
      frontEnd = await createKonnectivityFrontEnd({
        dialer: createNetDialer(),
        mode,
        ...(over === 'uds' ? { uds } : { tcp: { port: 0, tls: tlsFiles } }),
      });
    });
    afterAll(() => frontEnd?.destroy());
    describeDialer(
      `konnectivity ${mode}/${over} → createKonnectivityFrontEnd → net`,
      (): DialerHarness => ({
        dialer: createKonnectivityDialer({
          mode,
          ...(over === 'uds'
            ? { uds }
            : { url: `127.0.0.1:${frontEnd.port}`, tls: { ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem } }),
          endGraceMs: 2000,
        }),
        capabilities,
        unreachable,
      }),
      { bulkBytes: 8 * MiB, concurrentStreams: 30 },
    );
  });
}
describeThroughFrontEnd('grpc', 'uds');
describeThroughFrontEnd('http-connect', 'uds');
describeThroughFrontEnd('grpc', 'tcp');
describeThroughFrontEnd('http-connect', 'tcp');

describe.each(['grpc', 'http-connect'] as const)("upstream's Go client → createKonnectivityFrontEnd (%s)", (mode) => {
  const targets = servedTargets();
  let uds: string;
  let frontEnd: KonnectivityFrontEnd;
  beforeAll(async () => {
    uds = join(pki.dir, `go-${mode}.sock`);
    frontEnd = await createKonnectivityFrontEnd({ dialer: createNetDialer(), mode, uds });
  });
  afterAll(async () => {
    frontEnd?.destroy();
    await targets.close();
  });

  it('carries the Go client to the target over the unix socket', async () => {
    const target = await targets.serve(serveLineUpper());
    const r = await runGoClient(['-mode', mode, '-uds', uds, '-target', target], 'from go through a front end\n');
    expect(r.stderr).toContain('CONNECTED');
    expect(r.stdout.toString()).toBe('FROM GO THROUGH A FRONT END\n');
    await waitFor(() => frontEnd.connections === 0, 'the connection to be forgotten');
  });

  it("answers a refused dial in an agent's words (DIAL_RSP error / 502)", async () => {
    const refused = await closedTcpPort();
    const r = await runGoClient(['-mode', mode, '-uds', uds, '-target', formatTarget(refused)], '');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/DIAL_ERROR/);
    if (mode === 'grpc') expect(r.stderr).toContain('connect: connection refused');
    else expect(r.stderr).toMatch(/502/);
  });
});

describe('createKonnectivityFrontEnd', () => {
  const targets = servedTargets();
  const started: KonnectivityFrontEnd[] = [];
  const start = async (options: Parameters<typeof createKonnectivityFrontEnd>[0]): Promise<KonnectivityFrontEnd> => {
    const f = await createKonnectivityFrontEnd(options);
    started.push(f);
    return f;
  };
  afterEach(() => {
    for (const f of started.splice(0)) f.destroy();
  });
  afterAll(() => targets.close());

  it('makes its unix socket 0600 by default, or socketMode, and removes it on close', async () => {
    const uds = join(pki.dir, 'mode.sock');
    const f = await start({ dialer: createNetDialer(), uds });
    expect(statSync(uds).mode & 0o777).toBe(0o600);
    await f.close();
    expect(existsSync(uds)).toBe(false);
    const g = await start({ dialer: createNetDialer(), uds, socketMode: 0o660 });
    expect(statSync(uds).mode & 0o777).toBe(0o660);
    g.destroy();
  });

  it('replaces a stale socket, refuses a live one and a regular file (ERR_BAD_OPTION)', async () => {
    const uds = join(pki.dir, 'stale.sock');
    // A socket file nobody listens on: its server was killed (SIGKILL does not unlink it).
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(uds)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(existsSync(uds)).toBe(true);
    const f = await start({ dialer: createNetDialer(), uds });
    const live = await createKonnectivityFrontEnd({ dialer: createNetDialer(), uds }).catch((e: unknown) => e);
    expect((live as SpokeError).code).toBe('ERR_BAD_OPTION');
    expect((live as SpokeError).message).toMatch(/another process is serving/);
    f.destroy();
    const file = join(pki.dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    const err = await createKonnectivityFrontEnd({ dialer: createNetDialer(), uds: file }).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_BAD_OPTION');
    expect((err as SpokeError).message).toMatch(/not a socket/);
    expect(existsSync(file)).toBe(true);
  });

  it('checks its options (ERR_BAD_OPTION)', async () => {
    for (const bad of [{}, { uds: 'a', tcp: { port: 0, tls: { cert: '', key: '', ca: '' } } }, { uds: 'a', maxFrontendQueue: 0 }]) {
      const err = await createKonnectivityFrontEnd({ dialer: createNetDialer(), ...bad }).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_BAD_OPTION');
    }
  });

  it('is destroyed by its AbortSignal: connections reset, socket gone', async () => {
    const uds = join(pki.dir, 'abort.sock');
    const ac = new AbortController();
    await start({ dialer: createNetDialer(), uds, signal: ac.signal });
    const target = await targets.serve(serveTcp((s) => s.on('error', () => {})));
    const s = await createKonnectivityDialer({ uds }).dial(target);
    ac.abort();
    await closed(s);
    expect(existsSync(uds)).toBe(false);
    // An already-aborted signal starts nothing.
    const err = await createKonnectivityFrontEnd({ dialer: createNetDialer(), uds, signal: ac.signal }).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(existsSync(uds)).toBe(false);
  });

  it("maps the dialer's ERR_NO_ROUTE to the no-agent answers (gRPC DIAL_RSP, HTTP 500)", async () => {
    const noRoute: Dialer = {
      kind: 'none',
      dial: () => Promise.reject(new SpokeError('ERR_NO_ROUTE', 'No agent is connected for 10.0.0.5.')),
      close: async () => {},
    };
    for (const mode of ['grpc', 'http-connect'] as const) {
      const uds = join(pki.dir, `noroute-${mode}.sock`);
      await start({ dialer: noRoute, mode, uds });
      const r = await runGoClient(['-mode', mode, '-uds', uds, '-target', '10.0.0.5:10250'], '');
      expect(r.stderr).toMatch(/DIAL_ERROR/);
      expect(r.stderr).toMatch(mode === 'grpc' ? /No agent is connected/ : /500/);
    }
  });

  it('refuses unix: and port-less targets in the words of an agent, without asking the dialer', async () => {
    let dials = 0;
    const counting: Dialer = { kind: 'counting', dial: (t, o) => (dials++, createNetDialer().dial(t, o)), close: async () => {} };
    const uds = join(pki.dir, 'unix-target.sock');
    await start({ dialer: counting, mode: 'grpc', uds });
    for (const target of [`unix:${uds}`, '127.0.0.1']) {
      const r = await runGoClient(['-mode', 'grpc', '-uds', uds, '-target', target], '');
      expect(r.stderr).toContain(`dial tcp ${target}: address ${target}: missing port in address`);
    }
    expect(dials).toBe(0);
  });

  it("carries upstream's Go client in http-connect mode over mTLS TCP", async () => {
    const f = await start({
      dialer: createNetDialer(),
      mode: 'http-connect',
      tcp: { port: 0, tls: { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem } },
    });
    const target = await targets.serve(serveLineUpper());
    const r = await runGoClient(goMtlsConnectArgs(pki, f.port, target), 'mtls\n');
    expect(r.stdout.toString()).toBe('MTLS\n');
  });

  it('refuses a TCP client without a certificate', async () => {
    const f = await start({
      dialer: createNetDialer(),
      mode: 'http-connect',
      tcp: { port: 0, tls: { cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem } },
    });
    const socket = tls.connect({ host: '127.0.0.1', port: f.port ?? 0, ca: pki.caPem, servername: 'localhost' });
    socket.on('secureConnect', () => socket.write('CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    const err = await closed(socket);
    expect(String(err?.message ?? '')).toMatch(/certificate/i);
  });

  it.each(['grpc', 'http-connect'] as const)(
    'holds a %s client back while its destination does not read (no warnings on the way)',
    async (mode) => {
      const uds = join(pki.dir, `upload-${mode}.sock`);
      await start({ dialer: createNetDialer(), mode, uds });
      const warnings: string[] = [];
      const onWarning = (w: Error): void => void warnings.push(w.name);
      process.on('warning', onWarning);
      try {
        const deaf = await targets.serve(serveTcp((t) => t.pause()));
        const s = await createKonnectivityDialer({ mode, uds, endGraceMs: 500 }).dial(deaf);
        let written = 0;
        const total = 256 * MiB;
        const writer = writeBytes(s, total, { onProgress: (n) => (written = n) }).catch(() => undefined);
        await waitForStall(() => written, 'the client to stall', { quietPolls: 30, done: () => written >= total });
        expect(written).toBeLessThan(total);
        s.destroy();
        await writer;
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings).toEqual([]);
    },
  );

  it("pauses only a non-reading client's own stream: the target is held back, another connection flows", async () => {
    const uds = join(pki.dir, 'pressure.sock');
    const maxFrontendQueue = 256 * 1024;
    await start({ dialer: createNetDialer(), mode: 'grpc', uds, maxFrontendQueue });
    let written = 0;
    let writing = false;
    const total = 256 * MiB;
    const flood = await targets.serve(
      serveTcp((t) => {
        t.on('error', () => {});
        writing = true;
        writeBytes(t, total, { onProgress: (n) => (written = n) }).catch(() => undefined);
      }),
    );
    const dialer = createKonnectivityDialer({ uds, endGraceMs: 500 });
    const stuck = await dialer.dial(flood);
    stuck.pause();
    await waitFor(() => writing, 'the target to start writing');
    await waitForStall(() => written, 'the target to stall', { quietPolls: 30, done: () => written >= total });
    expect(written).toBeLessThan(total);
    const other = await dialer.dial(await targets.serve(serveLineUpper()));
    other.write('still flowing\n');
    expect((await readAll(other)).toString()).toBe('STILL FLOWING\n');
    stuck.destroy();
  });
});
