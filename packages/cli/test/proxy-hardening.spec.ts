import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readExactly } from '@spoke/transport-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { connectTo, untilClosed } from './support/raw-socket.js';
import { startHttpServer } from './support/servers.js';

const LISTENING = /^spoke proxy listening: (.+)$/m;

/** A unix socket server (a stand-in for a root-only socket) that counts the connections it accepts. */
async function startUnixServer(path: string): Promise<{ accepted: () => number; close(): Promise<void> }> {
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted += 1;
    s.end('secret\n');
  });
  server.listen(path);
  await once(server, 'listening');
  return { accepted: () => accepted, close: () => new Promise((r) => server.close(() => r())) };
}

describe('spoke proxy hardening', () => {
  let dir: string;
  let secretPath: string;
  let secret: Awaited<ReturnType<typeof startUnixServer>>;
  let proxy: CliProcess;
  let socks = '';
  let http = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-proxy-hardening-'));
    secretPath = join(dir, 'root-only.sock');
    secret = await startUnixServer(secretPath);
    proxy = startCli(['proxy', '--socks5', '127.0.0.1:0', '--http', '127.0.0.1:0']);
    const [, line = ''] = await proxy.line(LISTENING);
    socks = /socks5 (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
    http = /http (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
  });
  afterAll(async () => {
    await proxy?.stop();
    await secret?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('HTTP: CONNECT unix:/path is refused with 403 ERR_DIAL_DENIED and the socket is never dialled', async () => {
    const client = await connectTo(http);
    const answer = untilClosed(client);
    client.write(`CONNECT unix:${secretPath} HTTP/1.1\r\nHost: unix\r\n\r\n`);
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 403 /);
    expect(text).toMatch(/X-Spoke-Error-Code: ERR_DIAL_DENIED/i);
    expect(text).toContain('forward -L');
    expect(secret.accepted()).toBe(0);
  });

  it('SOCKS5: a domain name spelled unix:/path gets reply 2 (not allowed) and the socket is never dialled', async () => {
    const client = await connectTo(socks);
    client.write(Buffer.from([0x05, 0x01, 0x00]));
    expect([...(await readExactly(client, 2))]).toEqual([0x05, 0x00]);
    const answer = untilClosed(client);
    const name = Buffer.from(`unix:${secretPath}`, 'latin1');
    client.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00, 0x03, name.length]), name, Buffer.from([0x00, 0x50])]));
    const reply = Buffer.from(await answer, 'latin1');
    expect(reply[0]).toBe(0x05);
    expect(reply[1]).toBe(0x02);
    expect(secret.accepted()).toBe(0);
  });

  it('HTTP: idle and partial-head clients are cut after --handshake-timeout, freeing their --max-connections slots', async () => {
    const web = await startHttpServer();
    const limited = startCli(['proxy', '--http', '127.0.0.1:0', '--max-connections', '2', '--handshake-timeout', '500ms']);
    try {
      const [, line = ''] = await limited.line(LISTENING);
      const address = /http (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
      const silent = await connectTo(address);
      const partial = await connectTo(address);
      const closed = [untilClosed(silent), untilClosed(partial)];
      partial.write(`GET http://${web.address}/slow HTTP/1.1\r\nHost: ${web.address}\r\n`);
      const [silentText, partialText] = await Promise.all(closed);
      expect(silentText).toMatch(/^HTTP\/1\.1 408 /);
      expect(partialText).toMatch(/^HTTP\/1\.1 408 /);
      expect(partialText).toMatch(/X-Spoke-Error-Code: ERR_HANDSHAKE_TIMEOUT/i);
      const served = await curl(['-x', `http://${address}`, `http://${web.address}/third`]);
      expect(served).toMatchObject({ code: 0, stdout: 'hello from /third\n' });
    } finally {
      await limited.stop();
      await web.close();
    }
  }, 20_000);
});

describe('spoke hub hardening', () => {
  it('--connect on a non-loopback address is a usage error (exit 2) that says to bind to loopback or a unix socket', async () => {
    const result = await runCli(['hub', '--listen', '127.0.0.1:0', '--connect', '0.0.0.0:0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ERR_BAD_OPTION');
    expect(result.stderr).toMatch(/cleartext/);
    expect(result.stderr).toMatch(/--connect 127\.0\.0\.1:PORT/);
    expect(result.stderr).toMatch(/--connect unix:\/path/);
  });

  it('--connect unix:/path serves CONNECT on a unix socket; the WSS port serves no /metrics or /readyz, --metrics does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-hub-hardening-'));
    const hub = startCli(['hub', '--listen', '127.0.0.1:0', '--connect', `unix:${join(dir, 'connect.sock')}`, '--metrics', '127.0.0.1:0']);
    try {
      const [line = ''] = await hub.line(/^spoke hub listening: .+$/m);
      expect(line).toContain(`connect=unix:${join(dir, 'connect.sock')}`);
      const base = /wss:\/\/(\S+)/.exec(line)?.[1] ?? '';
      const metrics = /metrics=(\S+)/.exec(line)?.[1] ?? '';
      for (const path of ['/metrics', '/readyz']) {
        const res = await curl(['-k', '-o', '/dev/null', '-w', '%{http_code}', `https://${base}${path}`]);
        expect(res.stdout).toBe('404');
      }
      expect((await curl(['-k', `https://${base}/healthz`])).stdout).toBe('ok\n');
      expect((await curl([metrics])).stdout).toContain('spoke_hub_agents 0');
      expect((await curl(['-o', '/dev/null', '-w', '%{http_code}', metrics.replace('/metrics', '/readyz')])).stdout).toBe('503');
    } finally {
      await hub.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
