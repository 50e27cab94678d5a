import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readExactly } from '@spoke/transport-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type CliProcess } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { connectTo, untilClosed } from './support/raw-socket.js';
import { startHttpServer } from './support/servers.js';

const LISTENING = /^spoke proxy listening: (.+)$/m;
const OPEN_WARNING = /open to anyone who can reach it/;

/** `spoke proxy --auth-file` (issue 17 #14): SOCKS5 username/password (RFC 1929), HTTP Proxy-Authorization. */
describe('spoke proxy --auth-file', () => {
  let dir: string;
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  let proxy: CliProcess;
  let socks = '';
  let http = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-proxy-auth-'));
    const authFile = join(dir, 'proxy.auth');
    writeFileSync(authFile, 'alice:s3cret:with-colon\n\ntoken-abc\n', { mode: 0o600 });
    web = await startHttpServer();
    proxy = startCli(['proxy', '--socks5', '127.0.0.1:0', '--http', '127.0.0.1:0', '--auth-file', authFile]);
    const [, line = ''] = await proxy.line(LISTENING);
    socks = /socks5 (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
    http = /http (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
  });
  afterAll(async () => {
    await proxy?.stop();
    await web?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('HTTP: a login or a token (Basic any:TOKEN, Bearer TOKEN) is served; none or a wrong one gets 407 and is not forwarded', async () => {
    const url = (path: string): string => `http://${web.address}${path}`;
    expect(await curl(['-x', `http://${http}`, '--proxy-user', 'alice:s3cret:with-colon', url('/login')])).toMatchObject({
      code: 0,
      stdout: 'hello from /login\n',
    });
    expect((await curl(['-x', `http://${http}`, '--proxy-user', 'anyone:token-abc', url('/basic-token')])).stdout).toBe(
      'hello from /basic-token\n',
    );
    expect((await curl(['-x', `http://${http}`, '--proxy-header', 'Proxy-Authorization: Bearer token-abc', url('/bearer')])).stdout).toBe(
      'hello from /bearer\n',
    );
    const status = ['-o', '/dev/null', '-w', '%{http_code}'];
    expect((await curl(['-x', `http://${http}`, ...status, url('/none')])).stdout).toBe('407');
    expect((await curl(['-x', `http://${http}`, '--proxy-user', 'alice:wrong', ...status, url('/wrong')])).stdout).toBe('407');
    expect((await curl(['-x', `http://${http}`, '--proxy-user', 'bob:token-abcd', ...status, url('/near')])).stdout).toBe('407');
    const headers = await curl(['-x', `http://${http}`, '-D', '-', '-o', '/dev/null', url('/challenge')]);
    expect(headers.stdout).toMatch(/^Proxy-Authenticate: Basic realm="spoke proxy"/im);
    expect(web.requests.map((r) => r.split(' ')[1])).toEqual(['/login', '/basic-token', '/bearer']);
  });

  it('HTTP: CONNECT without credentials gets 407 and the connection is closed; with them it tunnels', async () => {
    const client = await connectTo(http);
    const answer = untilClosed(client);
    client.write(`CONNECT ${web.address} HTTP/1.1\r\nHost: ${web.address}\r\n\r\n`);
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 407 /);
    expect(text).toMatch(/X-Spoke-Error-Code: ERR_AUTH_FAILED/i);
    const tunnelled = await curl(['-p', '-x', `http://${http}`, '--proxy-user', 'alice:s3cret:with-colon', `http://${web.address}/tunnel`]);
    expect(tunnelled).toMatchObject({ code: 0, stdout: 'hello from /tunnel\n' });
  });

  it('SOCKS5: curl with the right user:pass is served, with a wrong one it is refused', async () => {
    const ok = await curl(['-x', `socks5h://alice:s3cret:with-colon@${socks}`, `http://${web.address}/socks`]);
    expect(ok).toMatchObject({ code: 0, stdout: 'hello from /socks\n' });
    const token = await curl(['--socks5-hostname', socks, '--proxy-user', 'anyone:token-abc', `http://${web.address}/socks-token`]);
    expect(token).toMatchObject({ code: 0, stdout: 'hello from /socks-token\n' });
    const wrong = await curl(['-x', `socks5h://alice:nope@${socks}`, `http://${web.address}/socks-wrong`]);
    expect(wrong.code).not.toBe(0);
    expect(web.requests.some((r) => r.includes('/socks-wrong'))).toBe(false);
  });

  it('SOCKS5: "no authentication" is refused (0xFF); a wrong login gets status 1 (RFC 1929) and the connection closed', async () => {
    const noAuth = await connectTo(socks);
    const refused = untilClosed(noAuth);
    noAuth.write(Buffer.from([0x05, 0x01, 0x00]));
    expect([...Buffer.from(await refused, 'latin1')]).toEqual([0x05, 0xff]);

    const client = await connectTo(socks);
    client.write(Buffer.from([0x05, 0x02, 0x00, 0x02]));
    expect([...(await readExactly(client, 2))]).toEqual([0x05, 0x02]);
    const answer = untilClosed(client);
    const user = Buffer.from('alice');
    const password = Buffer.from('s3cret');
    client.write(Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([password.length]), password]));
    expect([...Buffer.from(await answer, 'latin1')]).toEqual([0x01, 0x01]);
  });

  it('no warning about an open proxy when listening on loopback', () => {
    expect(proxy.stderr).not.toMatch(OPEN_WARNING);
  });
});

describe('spoke proxy on a non-loopback address', () => {
  it('without --auth-file warns on stderr that the proxy is open to anyone; with it, does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-proxy-open-'));
    const open = startCli(['proxy', '--socks5', '0.0.0.0:0', '--http', '127.0.0.1:0']);
    let guarded: CliProcess | undefined;
    try {
      await open.line(LISTENING);
      expect(open.stderr).toMatch(OPEN_WARNING);
      expect(open.stderr).toContain('--socks5 0.0.0.0');
      expect(open.stderr).not.toContain('--http 127.0.0.1');
      const authFile = join(dir, 'proxy.auth');
      writeFileSync(authFile, 'token-abc\n', { mode: 0o600 });
      guarded = startCli(['proxy', '--http', '0.0.0.0:0', '--auth-file', authFile]);
      await guarded.line(LISTENING);
      expect(guarded.stderr).not.toMatch(OPEN_WARNING);
    } finally {
      await open.stop();
      await guarded?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
