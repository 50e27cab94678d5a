import net from 'node:net';
import { createHangingTarget, readExactly, type HangingTarget } from '@spoke/transport-core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type CliProcess } from './support/cli-process.js';
import { curl } from './support/curl.js';
import { startConnectProxy, startHttpServer, startTcpServer } from './support/servers.js';
import { startSshd, type Sshd } from '@spoke/dialer-ssh/testing';

const LISTENING = /^spoke proxy listening: (.+)$/m;

async function startProxy(args: readonly string[]): Promise<{ cli: CliProcess; socks: string; http: string; metrics: string }> {
  const cli = startCli(['proxy', '--socks5', '127.0.0.1:0', '--http', '127.0.0.1:0', ...args]);
  const [, line = ''] = await cli.line(LISTENING);
  const find = (re: RegExp): string => re.exec(line)?.[1] ?? '';
  return {
    cli,
    socks: find(/socks5 (127\.0\.0\.1:\d+)/),
    http: find(/http (127\.0\.0\.1:\d+)/),
    metrics: find(/metrics (http:\/\/\S+\/metrics)/),
  };
}

function closedPromise(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => {});
    socket.once('close', () => resolve());
  });
}

describe('spoke proxy', () => {
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  let farSide: Awaited<ReturnType<typeof startConnectProxy>>;
  let hanging: HangingTarget;
  let refused: string;
  let direct: Awaited<ReturnType<typeof startProxy>>;
  let tunnelled: Awaited<ReturnType<typeof startProxy>>;
  beforeAll(async () => {
    const gone = await startTcpServer(() => {});
    refused = gone.address;
    await gone.close();
    [web, hanging] = await Promise.all([startHttpServer(), createHangingTarget()]);
    farSide = await startConnectProxy({
      names: { 'web.only-far-side.test': '127.0.0.1' },
      deny: [web.address.replace('127.0.0.1', 'denied.test')],
    });
    [direct, tunnelled] = await Promise.all([
      startProxy(['--connect-timeout', '1s', '--metrics', '127.0.0.1:0']),
      startProxy(['--via', `http-connect://${farSide.address}`]),
    ]);
  });
  afterAll(async () => {
    await Promise.all([direct?.cli.stop(), tunnelled?.cli.stop()]);
    await Promise.all([web?.close(), farSide?.close(), hanging?.close()]);
  });

  it('SOCKS5 with remote name resolution: the host name goes to the far side unresolved', async () => {
    const result = await curl(['--socks5-hostname', tunnelled.socks, `http://web.only-far-side.test:${web.port}/socks`]);
    expect(result).toMatchObject({ code: 0, stdout: 'hello from /socks\n' });
    expect(farSide.connects).toContain(`web.only-far-side.test:${web.port}`);
  });

  it('SOCKS5 with an IPv4 address', async () => {
    const result = await curl(['--socks5', direct.socks, `http://${web.address}/ipv4`]);
    expect(result).toMatchObject({ code: 0, stdout: 'hello from /ipv4\n' });
  });

  it('plain HTTP proxying of absolute-form requests, bodies included', async () => {
    const get = await curl(['-x', `http://${tunnelled.http}`, `http://web.only-far-side.test:${web.port}/plain?q=1`]);
    expect(get).toMatchObject({ code: 0, stdout: 'hello from /plain?q=1\n' });
    expect(web.requests).toContain(`GET /plain?q=1 host=web.only-far-side.test:${web.port}`);
    const post = await curl(['-x', `http://${direct.http}`, '--data-binary', 'x'.repeat(100_000), `http://${web.address}/upload`]);
    expect(post).toMatchObject({ code: 0, stdout: 'received 100000\n' });
  });

  it('HTTP CONNECT tunnels', async () => {
    const result = await curl(['-p', '-x', `http://${direct.http}`, `http://${web.address}/tunnel`]);
    expect(result).toMatchObject({ code: 0, stdout: 'hello from /tunnel\n' });
  });

  it('a refused target: SOCKS5 reply 5, HTTP 502 with X-Spoke-Error-Code', async () => {
    const socks = await curl(['--socks5-hostname', direct.socks, `http://${refused}/`]);
    expect(socks.code).not.toBe(0);
    expect(socks.stderr).toMatch(/SOCKS5 connection to .*\(5\)/i);
    const http = await curl(['-i', '-x', `http://${direct.http}`, `http://${refused}/`]);
    expect(http.stdout).toMatch(/^HTTP\/1\.1 502 /);
    expect(http.stdout).toMatch(/X-Spoke-Error-Code: ERR_DIAL_REFUSED/i);
    expect(http.stdout).toContain('spoke proxy: ERR_DIAL_REFUSED');
    const connect = await curl(['-p', '-x', `http://${direct.http}`, `http://${refused}/`]);
    expect(connect.stderr).toContain('CONNECT tunnel failed, response 502');
  });

  it('--metrics counts connections, bytes and dial failures by code', async () => {
    await curl(['--socks5', direct.socks, `http://${refused}/`]);
    await curl(['--socks5', direct.socks, `http://${web.address}/counted`]);
    const { stdout } = await curl([direct.metrics]);
    expect(stdout).toMatch(/spoke_cli_dial_failures_total\{code="ERR_DIAL_REFUSED"\} [1-9]/);
    expect(stdout).toMatch(/spoke_cli_connections_total [1-9]/);
    expect(stdout).toMatch(/spoke_cli_bytes_total\{direction="down"\} [1-9]/);
  });

  it('a target the far side denies: SOCKS5 reply 2, HTTP 403', async () => {
    const target = `http://denied.test:${web.port}/`;
    const socks = await curl(['--socks5-hostname', tunnelled.socks, target]);
    expect(socks.stderr).toMatch(/SOCKS5 connection to .*\(2\)/i);
    const http = await curl(['-i', '-x', `http://${tunnelled.http}`, target]);
    expect(http.stdout).toMatch(/^HTTP\/1\.1 403 /);
    expect(http.stdout).toMatch(/X-Spoke-Error-Code: ERR_DIAL_DENIED/i);
  });

  it('a dial that times out: SOCKS5 reply 6, HTTP 504', async () => {
    const target = `http://127.0.0.1:${hanging.target.port}/`;
    const socks = await curl(['--socks5', direct.socks, target]);
    expect(socks.stderr).toMatch(/SOCKS5 connection to .*\(6\)/i);
    const http = await curl(['-i', '-x', `http://${direct.http}`, target]);
    expect(http.stdout).toMatch(/^HTTP\/1\.1 504 /);
    expect(http.stdout).toMatch(/X-Spoke-Error-Code: ERR_DIAL_TIMEOUT/i);
  });

  it('--route sends a CIDR through its own hop; other targets use --via', async () => {
    const routed = await startTcpServer((s) => s.pipe(s));
    const { cli, socks } = await startProxy(['--route', `127.0.0.0/8=http-connect://${farSide.address}`]);
    try {
      const result = await curl(['--socks5', socks, `http://${web.address}/routed`]);
      expect(result).toMatchObject({ code: 0, stdout: 'hello from /routed\n' });
      expect(farSide.connects).toContain(web.address);
    } finally {
      await Promise.all([cli.stop(), routed.close()]);
    }
  });

  it('bounds concurrent connections: over the limit, HTTP clients get 503 ERR_TOO_MANY_STREAMS', async () => {
    const { cli, socks, http } = await startProxy(['--max-connections', '1']);
    const [host = '', port = '0'] = socks.split(':');
    const holder = net.connect(Number(port), host);
    try {
      // A SOCKS5 client relayed to the web server holds the only slot.
      holder.write(Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, web.port >> 8, web.port & 0xff]));
      await readExactly(holder, 12);
      const busy = await curl(['-i', '-x', `http://${http}`, `http://${web.address}/`]);
      expect(busy.stdout).toMatch(/^HTTP\/1\.1 503 /);
      expect(busy.stdout).toMatch(/X-Spoke-Error-Code: ERR_TOO_MANY_STREAMS/i);
      await cli.stderrMatch(/too many connections/);
    } finally {
      holder.destroy();
      const result = await cli.stop('SIGINT');
      expect(result.code).toBe(0);
    }
  });

  it('drops a client that does not finish its handshake in time', async () => {
    const { cli, socks } = await startProxy(['--handshake-timeout', '500ms', '--log-level', 'debug']);
    try {
      const [host = '', port = '0'] = socks.split(':');
      const idle = net.connect(Number(port), host);
      await closedPromise(idle);
      await cli.stderrMatch(/socks5 handshake failed/);
    } finally {
      await cli.stop();
    }
  });

  it('needs --socks5 or --http; bad addresses, routes and limits are usage errors', async () => {
    for (const args of [
      ['proxy'],
      ['proxy', '--socks5', 'nope'],
      ['proxy', '--http', '127.0.0.1:0', '--route', '10.0.0.0/33=tcp://'],
      ['proxy', '--http', '127.0.0.1:0', '--route', '10.0.0.0/8'],
      ['proxy', '--http', '127.0.0.1:0', '--route', '10.0.0.0/8=ftp://x'],
      ['proxy', '--http', '127.0.0.1:0', '--max-connections', '0'],
    ]) {
      const result = await startCli(args).exited;
      expect(result.code, args.join(' ')).toBe(2);
    }
  });
});

describe('spoke proxy through SSH', () => {
  let sshd: Sshd;
  let web: Awaited<ReturnType<typeof startHttpServer>>;
  beforeAll(async () => {
    [sshd, web] = await Promise.all([startSshd(), startHttpServer()]);
  });
  afterAll(async () => {
    await Promise.all([sshd?.cleanup(), web?.close()]);
  });

  it('curl --socks5-hostname reaches a server behind sshd; "localhost" is resolved by sshd', async () => {
    const via = `ssh://${sshd.username}@127.0.0.1:${sshd.port}?identity=${sshd.clientKeyFile}&known-hosts=${sshd.knownHostsFile}`;
    const { cli, socks } = await startProxy(['--via', via]);
    try {
      const result = await curl(['--socks5-hostname', socks, `http://127.0.0.1:${web.port}/over-ssh`]);
      expect(result).toMatchObject({ code: 0, stdout: 'hello from /over-ssh\n' });
    } finally {
      await cli.stop();
    }
  });
});
