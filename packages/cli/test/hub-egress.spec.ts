import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { goClient, runGoClient } from './support/konnectivity-client.js';
import { startHttpServer } from './support/servers.js';

const LISTENING = /^spoke hub listening: .+$/m;
/** What kube-apiserver's kubelet client would send through the tunnel (one request; the server closes). */
const request = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: node-1\r\nConnection: close\r\n\r\n`;

/** A hub started with `extra` flags, one agent behind it (routed to 127.0.0.1 by its ipv4 identifier), and the hub's listening line. */
async function hubWithAgent(
  extra: readonly string[],
  allowPort: number,
): Promise<{ hub: CliProcess; agent: CliProcess; line: string; stop(): Promise<void> }> {
  const hub = startCli(['hub', '--listen', '127.0.0.1:0', ...extra]);
  const [line = ''] = await hub.line(LISTENING);
  const url = /wss:\/\/\S+/.exec(line)?.[0] ?? '';
  const agent = startCli([
    'agent',
    '--hub',
    url,
    '--id',
    'node-1',
    '--identifiers',
    'ipv4=127.0.0.1',
    '--allow',
    `127.0.0.1/32:${allowPort}`,
    '--token-file',
    /agent-token-file=(\S+)/.exec(line)?.[1] ?? '',
    '--hub-fingerprint',
    /fingerprint=(\S+)/.exec(line)?.[1] ?? '',
  ]);
  await hub.stderrMatch(/agent connected.*agent=node-1/);
  return {
    hub,
    agent,
    line,
    async stop() {
      await agent.stop();
      await hub.stop();
    },
  };
}

describe('spoke hub as kube-apiserver egress over unix sockets (GRPC and HTTPConnect, real processes)', () => {
  let dir: string;
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  let peers: Awaited<ReturnType<typeof hubWithAgent>>;
  let konnectivity: string;
  let connect: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-hub-egress-'));
    web = await startHttpServer();
    konnectivity = join(dir, 'konnectivity.sock');
    connect = join(dir, 'connect.sock');
    // A stale socket where --connect goes (its server was killed): the hub replaces it.
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(connect)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    peers = await hubWithAgent(
      ['--konnectivity-uds', konnectivity, '--connect', `unix:${connect}`, '--konnectivity-socket-mode', '0660'],
      web.port,
    );
    // Built once per machine (minutes on a cold Go module cache), here rather than in a test's time.
    goClient();
  }, 900_000);
  afterAll(async () => {
    await peers?.stop();
    await web?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces both sockets, made with their modes (0660 asked, 0600 by default)', () => {
    expect(peers.line).toContain(`konnectivity=unix:${konnectivity}`);
    expect(peers.line).toContain(`connect=unix:${connect}`);
    expect(statSync(konnectivity).mode & 0o777).toBe(0o660);
    expect(statSync(connect).mode & 0o777).toBe(0o600);
  });

  it("carries upstream's konnectivity-client (gRPC, /ProxyService/Proxy) through the hub and its agent", async () => {
    const r = await runGoClient(['-mode', 'grpc', '-uds', konnectivity, '-target', `127.0.0.1:${web.port}`], request('/grpc'));
    expect(r.stderr).toContain('CONNECTED');
    expect(r.stdout).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(r.stdout).toContain('hello from /grpc');
  });

  it('carries HTTP CONNECT on the unix socket without any token (kube-apiserver HTTPConnect over UDS)', async () => {
    const r = await runGoClient(['-mode', 'http-connect', '-uds', connect, '-target', `127.0.0.1:${web.port}`], request('/connect'));
    expect(r.stderr).toContain('CONNECTED');
    expect(r.stdout).toContain('hello from /connect');
  });

  it("answers a destination the agent's allow list refuses, and a unix: target, with DIAL_RSP errors", async () => {
    const denied = await runGoClient(['-mode', 'grpc', '-uds', konnectivity, '-target', '127.0.0.1:1'], '');
    expect(denied.code).toBe(3);
    expect(denied.stderr).toMatch(/DIAL_ERROR: .*ERR_DIAL_DENIED/);
    const unix = await runGoClient(['-mode', 'grpc', '-uds', konnectivity, '-target', `unix:${connect}`], '');
    expect(unix.stderr).toContain('missing port in address');
  });

  it('removes both sockets on exit', async () => {
    const extra = await hubWithAgent(['--konnectivity-uds', join(dir, 'k2.sock'), '--connect', `unix:${join(dir, 'c2.sock')}`], web.port);
    expect(existsSync(join(dir, 'k2.sock'))).toBe(true);
    await extra.stop();
    expect(existsSync(join(dir, 'k2.sock'))).toBe(false);
    expect(existsSync(join(dir, 'c2.sock'))).toBe(false);
  });
});

describe('spoke hub --connect over TLS with client certificates (kube-apiserver HTTPConnect over TCP)', () => {
  let dir: string;
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  let peers: Awaited<ReturnType<typeof hubWithAgent>>;
  let address: string;
  const files = { ca: '', cert: '', key: '', clientCert: '', clientKey: '', strangerCert: '', strangerKey: '' };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-hub-egress-tls-'));
    web = await startHttpServer();
    const ca = createCertificateAuthority({ commonName: 'egress CA' });
    const server = ca.issue({ commonName: 'spoke-hub', altNames: ['127.0.0.1', 'localhost'] });
    const client = ca.issue({ commonName: 'kube-apiserver', usages: ['client'] });
    const stranger = createCertificateAuthority({ commonName: 'other CA' }).issue({ commonName: 'intruder', usages: ['client'] });
    const pem: Record<keyof typeof files, string> = {
      ca: ca.cert,
      cert: server.cert,
      key: server.key,
      clientCert: client.cert,
      clientKey: client.key,
      strangerCert: stranger.cert,
      strangerKey: stranger.key,
    };
    for (const [name, text] of Object.entries(pem)) {
      files[name as keyof typeof files] = join(dir, `${name}.pem`);
      writeFileSync(join(dir, `${name}.pem`), text, { mode: 0o600 });
    }
    peers = await hubWithAgent(
      ['--connect', '127.0.0.1:0', '--connect-client-ca', files.ca, '--connect-tls-cert', files.cert, '--connect-tls-key', files.key],
      web.port,
    );
    address = /connect=https:\/\/(127\.0\.0\.1:\d+)/.exec(peers.line)?.[1] ?? '';
  }, 900_000);
  afterAll(async () => {
    await peers?.stop();
    await web?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const viaProxy = (cert: string, key: string): string[] => [
    '--proxy',
    `https://${address}`,
    '--proxy-cacert',
    files.ca,
    '--proxy-cert',
    cert,
    '--proxy-key',
    key,
    '--proxytunnel',
  ];

  it('curl with a client certificate reaches the target through the agent', async () => {
    const r = await curl([...viaProxy(files.clientCert, files.clientKey), `http://127.0.0.1:${web.port}/mtls`]);
    expect(r).toMatchObject({ code: 0, stdout: 'hello from /mtls\n' });
  });

  it("upstream's Go HTTP CONNECT client over mTLS reaches the target", async () => {
    const r = await runGoClient(
      [
        '-mode',
        'http-connect',
        '-addr',
        address,
        '-ca',
        files.ca,
        '-cert',
        files.clientCert,
        '-key',
        files.clientKey,
        '-target',
        `127.0.0.1:${web.port}`,
      ],
      request('/go-mtls'),
    );
    expect(r.stdout).toContain('hello from /go-mtls');
  });

  it("answers a destination the agent's allow list refuses with 502 and the agent's reason", async () => {
    const r = await curl([
      ...viaProxy(files.clientCert, files.clientKey),
      '-o',
      '/dev/null',
      '-w',
      '%{http_connect}',
      'http://127.0.0.1:1/',
    ]);
    expect(r.stdout).toBe('502');
    expect(r.code).not.toBe(0);
  });

  it('refuses a client without a certificate, or with one from another CA', async () => {
    const none = await curl([
      '--proxy',
      `https://${address}`,
      '--proxy-cacert',
      files.ca,
      '--proxytunnel',
      `http://127.0.0.1:${web.port}/none`,
    ]);
    expect(none.code).not.toBe(0);
    expect(none.stdout).toBe('');
    const stranger = await curl([...viaProxy(files.strangerCert, files.strangerKey), `http://127.0.0.1:${web.port}/stranger`]);
    expect(stranger.code).not.toBe(0);
    expect(web.requests.some((r) => r.includes('/none') || r.includes('/stranger'))).toBe(false);
  });

  it('exits 2 on inconsistent --connect flags, a non-socket file, and a TLS pair without a client CA', async () => {
    const file = join(dir, 'regular-file');
    writeFileSync(file, 'keep me');
    const cases: Array<[string[], RegExp]> = [
      [['--connect', `unix:${file}`], /ERR_BAD_OPTION.*not a socket/],
      [['--konnectivity-uds', file], /ERR_BAD_OPTION.*not a socket/],
      [['--connect', '127.0.0.1:0', '--connect-tls-cert', files.cert, '--connect-tls-key', files.key], /needs --connect-client-ca/],
      [['--connect', `unix:${join(dir, 'x.sock')}`, '--connect-client-ca', files.ca], /file permissions/],
      [['--connect', '127.0.0.1:0', '--connect-client-ca', files.ca], /needs a certificate/],
      [['--connect', `unix:${join(dir, 'y.sock')}`, '--connect-socket-mode', '999'], /octal mode/],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['hub', '--listen', '127.0.0.1:0', ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(file)).toBe(true);
  });
});
