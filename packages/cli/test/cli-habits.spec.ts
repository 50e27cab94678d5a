import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHangingTarget, type HangingTarget } from '@spoke/transport-core/testing';
import { startCli } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { startConnectProxy, startHttpServer, startTcpServer, type Served } from './support/servers.js';

describe('spoke speaks CLI habits', () => {
  let echo: Served;
  beforeAll(async () => {
    echo = await startTcpServer((s) => s.pipe(s));
  });
  afterAll(async () => {
    await echo?.close();
  });

  it('`spoke version` prints what `spoke --version` prints', async () => {
    const [word, flag] = await Promise.all([startCli(['version']).exited, startCli(['--version']).exited]);
    expect(word.code).toBe(0);
    expect(word.stdout).toMatch(/^spoke \d+\.\d+\.\d+\n$/);
    expect(word.stdout).toBe(flag.stdout);
  });

  it('forward accepts ssh’s -N and forwards', async () => {
    const cli = startCli(['forward', '-N', '-L', `0:${echo.address}`]);
    try {
      const [, local = ''] = await cli.line(/^spoke forward listening: (127\.0\.0\.1:\d+) -> /m);
      const [host = '', port = '0'] = local.split(':');
      const socket = net.connect(Number(port), host);
      socket.end('through -N');
      let text = '';
      for await (const chunk of socket) text += String(chunk);
      expect(text).toBe('through -N');
    } finally {
      expect((await cli.stop('SIGINT')).code).toBe(0);
    }
  });

  it('with --log-format json the "listening" line on stdout is JSON too', async () => {
    const cli = startCli(['--log-format', 'json', 'forward', '-L', `0:${echo.address}`]);
    try {
      const [line = ''] = await cli.line(/^\{.*"msg":"listening".*\}$/m);
      const parsed = JSON.parse(line) as { level: string; command: string; addresses: string[] };
      expect(parsed).toMatchObject({ level: 'info', command: 'spoke forward' });
      expect(parsed.addresses[0]).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+ -> ${echo.address.replace(/\./g, '\\.')}$`));
      expect(cli.stdout).not.toContain('spoke forward listening:');
    } finally {
      expect((await cli.stop('SIGINT')).code).toBe(0);
    }
  });

  it('Ctrl-C during a dial exits 130 (interrupted), SIGTERM 143 — not 1', async () => {
    const hanging: HangingTarget = await createHangingTarget();
    try {
      for (const [signal, code] of [
        ['SIGINT', 130],
        ['SIGTERM', 143],
      ] as const) {
        const cli = startCli(['dial', `${hanging.target.host}:${hanging.target.port}`]);
        // The dial is in flight once its SYN sits unanswered at the target.
        await hanging.attempted();
        const result = await cli.stop(signal);
        expect({ code: result.code, interrupted: result.stderr.includes('spoke dial: interrupted') }).toEqual({ code, interrupted: true });
      }
    } finally {
      await hanging.close();
    }
  });

  it('advice in errors names the CLI flag, not the library option (timeoutMs)', async () => {
    const hanging = await createHangingTarget();
    try {
      const result = await startCli(['dial', `${hanging.target.host}:${hanging.target.port}`, '--connect-timeout', '300ms']).exited;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('ERR_DIAL_TIMEOUT');
      expect(result.stderr).toContain('raise --connect-timeout');
      expect(result.stderr).not.toContain('timeoutMs');
    } finally {
      await hanging.close();
    }
  });

  it('forward -D is a SOCKS5 proxy through the --via hops, as ssh -D', async () => {
    const [web, proxy] = await Promise.all([startHttpServer(), startConnectProxy()]);
    const cli = startCli(['forward', '-D', '0', '--via', `http-connect://${proxy.address}`]);
    try {
      const [, socks = ''] = await cli.line(/^spoke forward listening: socks5 (127\.0\.0\.1:\d+)/m);
      const answer = await curl(['--socks5-hostname', socks, `http://${web.address}/through-D`]);
      expect(answer).toMatchObject({ code: 0, stdout: 'hello from /through-D\n' });
      expect(proxy.connects).toContain(web.address);
    } finally {
      expect((await cli.stop('SIGINT')).code).toBe(0);
      await Promise.all([web.close(), proxy.close()]);
    }
  });
});
