import net from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { startConnectProxy, startHttpServer, startTcpServer, type Served } from './support/servers.js';

const LISTENING = /^spoke forward listening: (.+)$/m;

function listenAddresses(line: string): string[] {
  return [...line.matchAll(/(127\.0\.0\.1:\d+) -> /g)].map((m) => m[1] ?? '');
}

describe('spoke forward', () => {
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  let echo: Served;
  let proxy: Awaited<ReturnType<typeof startConnectProxy>>;
  beforeAll(async () => {
    [web, echo, proxy] = await Promise.all([startHttpServer(), startTcpServer((s) => s.pipe(s)), startConnectProxy()]);
  });
  afterAll(async () => {
    await Promise.all([web?.close(), echo?.close(), proxy?.close()]);
  });

  it('forwards each -L through the --via hop and prints where it listens', async () => {
    const cli = startCli([
      'forward',
      '-L',
      `0:${web.address}`,
      '-L',
      `127.0.0.1:0:${echo.address}`,
      '--via',
      `http-connect://${proxy.address}`,
    ]);
    try {
      const [, line = ''] = await cli.line(LISTENING);
      const [webLocal, echoLocal] = listenAddresses(line);
      expect(line).toContain(`-> ${web.address}`);
      const answer = await curl([`http://${webLocal}/forwarded`]);
      expect(answer).toMatchObject({ code: 0, stdout: 'hello from /forwarded\n' });
      expect(proxy.connects).toContain(web.address);
      const [host = '', port = '0'] = (echoLocal ?? '').split(':');
      const socket = net.connect(Number(port), host);
      socket.end('echoed through spoke');
      let text = '';
      for await (const chunk of socket) text += String(chunk);
      expect(text).toBe('echoed through spoke');
      // stderr is a pipe here: no live counters, only log lines.
      expect(cli.stderr).not.toContain('\x1b[2K');
    } finally {
      const result = await cli.stop('SIGINT');
      expect(result.code).toBe(0);
    }
  });

  it('SIGTERM stops accepting but lets an open connection finish, then exits 0', async () => {
    const cli = startCli(['forward', '-L', `0:${echo.address}`]);
    const [, line = ''] = await cli.line(LISTENING);
    const [host = '', port = '0'] = (listenAddresses(line)[0] ?? '').split(':');
    const socket = net.connect(Number(port), host);
    socket.write('before ');
    await once(socket, 'data');
    cli.child.kill('SIGTERM');
    await cli.stderrMatch(/shutting down/);
    // New connections are refused now...
    const late = net.connect(Number(port), host);
    const [err] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
    // ...while the open one still works both ways until it ends.
    socket.end('after');
    let text = '';
    for await (const chunk of socket) text += String(chunk);
    expect(text).toBe('after');
    const result = await cli.exited;
    expect(result.code).toBe(0);
  });

  it('a failed dial resets the local client and logs the code', async () => {
    const gone = await startTcpServer(() => {});
    const target = gone.address;
    await gone.close();
    const cli = startCli(['forward', '-L', `0:${target}`]);
    try {
      const [, line = ''] = await cli.line(LISTENING);
      const [host = '', port = '0'] = (listenAddresses(line)[0] ?? '').split(':');
      const socket = net.connect(Number(port), host);
      await new Promise<void>((resolve) => {
        socket.on('error', () => {});
        socket.once('close', () => resolve());
      });
      await cli.stderrMatch(/dial failed.*ERR_DIAL_REFUSED/);
    } finally {
      await cli.stop();
    }
  });

  it('rejects malformed -L specs and a missing -L with exit 2', async () => {
    for (const args of [
      ['forward'],
      ['forward', '-L', '8080'],
      ['forward', '-L', '70000:127.0.0.1:80'],
      ['forward', '-L', '0:nohostport'],
    ]) {
      const result = await startCli(args).exited;
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain('-L');
    }
  });
});
