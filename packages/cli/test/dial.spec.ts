import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './support/cli-process.js';
import { startConnectProxy, startTcpServer, type Served } from './support/servers.js';

describe('spoke dial', () => {
  let echo: Served;
  let countThenReply: Served;
  let proxy: Awaited<ReturnType<typeof startConnectProxy>>;
  beforeAll(async () => {
    echo = await startTcpServer((s) => s.pipe(s));
    // Reads until the client half-closes, then answers with what it got and ends: needs stdin EOF → end().
    countThenReply = await startTcpServer((s) => {
      let got = '';
      s.on('data', (c: Buffer) => {
        got += c.toString();
      });
      s.on('end', () => s.end(`got ${got.length} bytes: ${got}`));
    });
    proxy = await startConnectProxy({ names: { 'only-the-proxy-knows.test': '127.0.0.1' }, deny: [`127.0.0.1:${1}`] });
  });
  afterAll(async () => {
    await Promise.all([echo?.close(), countThenReply?.close(), proxy?.close()]);
  });

  it('copies stdin to the target and the target to stdout, exit 0 when it ends', async () => {
    const result = await runCli(['dial', echo.address], { input: 'ping\n' });
    expect(result).toMatchObject({ code: 0, stdout: 'ping\n' });
  });

  it('stdin EOF half-closes: the far side still answers after it', async () => {
    const result = await runCli(['dial', countThenReply.address], { input: 'abc' });
    expect(result).toMatchObject({ code: 0, stdout: 'got 3 bytes: abc' });
  });

  it('moves 8 MiB intact', async () => {
    const payload = Buffer.alloc(8 * 1024 * 1024, 'spoke');
    const proc = startCli(['dial', echo.address]);
    proc.child.stdout?.setEncoding('latin1');
    proc.child.stdin?.end(payload);
    const result = await proc.exited;
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(payload.length);
  });

  it('takes HOST PORT as two words, like OpenSSH %h %p', async () => {
    const result = await runCli(['dial', '127.0.0.1', String(echo.port)], { input: 'two words' });
    expect(result).toMatchObject({ code: 0, stdout: 'two words' });
  });

  it('goes through an --via http-connect:// hop, handing the host name to the far side', async () => {
    const result = await runCli(['dial', `only-the-proxy-knows.test:${echo.port}`, '--via', `http-connect://${proxy.address}`], {
      input: 'hop',
    });
    expect(result).toMatchObject({ code: 0, stdout: 'hop' });
    expect(proxy.connects).toContain(`only-the-proxy-knows.test:${echo.port}`);
  });

  it('a refused target exits 1 with ERR_DIAL_REFUSED on stderr', async () => {
    const closed = await startTcpServer(() => {});
    const port = closed.port;
    await closed.close();
    const result = await runCli(['dial', `127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_DIAL_REFUSED');
    expect(result.stdout).toBe('');
  });

  it('a hop that denies the target exits 1 with ERR_DIAL_DENIED', async () => {
    const result = await runCli(['dial', '127.0.0.1:1', '--via', `http-connect://${proxy.address}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ERR_DIAL_DENIED');
  });

  it('dials unix sockets (unix:/path)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-cli-unix-'));
    const path = join(dir, 'echo.sock');
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const result = await runCli(['dial', `unix:${path}`], { input: 'over a unix socket' });
      expect(result).toMatchObject({ code: 0, stdout: 'over a unix socket' });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad --connect-timeout is a usage error', async () => {
    const result = await runCli(['dial', echo.address, '--connect-timeout', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--connect-timeout');
  });
});
