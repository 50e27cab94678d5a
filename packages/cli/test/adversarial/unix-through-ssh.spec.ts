import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExactly } from '@spoke/transport-core/testing';
import { startSshd, type Sshd } from '@spoke/dialer-ssh/testing';
import { startCli, type CliProcess } from '../support/cli-process.js';
import { connectTo, untilClosed } from '../support/raw-socket.js';
import { startTcpServer } from '../support/servers.js';

// `unix:` targets through `ssh://` (not tried in issue 17's review). The SSH dialer can open a unix
// socket on the far host (direct-streamlocal@openssh.com), so a proxy front end that passed a client's
// `unix:/path` on would hand that client every socket sshd's user can open there. The bound: through
// `spoke proxy --via ssh://` (HTTP CONNECT and SOCKS5) and `spoke forward -D --via ssh://`, a unix
// target is refused (403 ERR_DIAL_DENIED, SOCKS5 reply 2) and the socket never sees a connection; only
// an explicit target on the command line (`spoke dial unix:/path --via ssh://`) reaches it.

/** A unix socket server standing in for a root-only socket on the SSH host; counts what it accepts. */
async function startUnixServer(path: string): Promise<{ accepted: () => number; close(): Promise<void> }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => {});
    s.end('secret\n');
  });
  server.listen(path);
  await once(server, 'listening');
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return { accepted: () => accepted, close };
}

/** A SOCKS5 CONNECT to the domain name `host`; resolves with the reply code. */
async function socksConnect(address: string, host: string): Promise<number> {
  const socket = await connectTo(address);
  try {
    socket.write(Buffer.from([0x05, 0x01, 0x00]));
    await readExactly(socket, 2);
    const name = Buffer.from(host, 'latin1');
    socket.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00, 0x03, name.length]), name, Buffer.from([0x00, 0x50])]));
    const [, code = -1] = await readExactly(socket, 2);
    return code;
  } finally {
    socket.destroy();
  }
}

describe('adversarial: unix: targets through ssh://', () => {
  let dir: string;
  let sshd: Sshd;
  let secret: Awaited<ReturnType<typeof startUnixServer>>;
  let secretPath: string;
  let via: string;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spoke-adversarial-ssh-'));
    secretPath = join(dir, 'root-only.sock');
    [sshd, secret] = await Promise.all([startSshd(), startUnixServer(secretPath)]);
    via = `ssh://${sshd.username}@127.0.0.1:${sshd.port}?identity=${sshd.clientKeyFile}&known-hosts=${sshd.knownHostsFile}`;
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all([sshd?.cleanup(), secret?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('spoke proxy --via ssh:// refuses CONNECT unix:/path (403) and a SOCKS5 name unix:/path (reply 2)', async () => {
    const proxy = startCli(['proxy', '--http', '127.0.0.1:0', '--socks5', '127.0.0.1:0', '--via', via]);
    procs.push(proxy);
    const [, line = ''] = await proxy.line(/^spoke proxy listening: (.+)$/m);
    const http = /http (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
    const socks = /socks5 (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
    const client = await connectTo(http);
    const answer = untilClosed(client);
    client.write(`CONNECT unix:${secretPath} HTTP/1.1\r\nHost: unix\r\n\r\n`);
    expect(await answer).toMatch(/^HTTP\/1\.1 403 [\s\S]*X-Spoke-Error-Code: ERR_DIAL_DENIED/i);
    expect(await socksConnect(socks, `unix:${secretPath}`)).toBe(2);
    expect(secret.accepted()).toBe(0);
  });

  it('spoke forward -D --via ssh:// refuses a SOCKS5 name unix:/path (reply 2)', async () => {
    const forward = startCli(['forward', '-D', '0', '--via', via]);
    procs.push(forward);
    const [, line = ''] = await forward.line(/^spoke forward listening: (.+)$/m);
    const socks = /socks5 (127\.0\.0\.1:\d+)/.exec(line)?.[1] ?? '';
    expect(await socksConnect(socks, `unix:${secretPath}`)).toBe(2);
    expect(secret.accepted()).toBe(0);
  });

  it('only an explicit target reaches it: spoke dial unix:/path --via ssh://, which exits once the far side has ended', async () => {
    // Five runs: the far side's EOF often arrived before our stdin's, and then the dial never exited.
    for (let run = 1; run <= 5; run++) {
      const dial = startCli(['dial', `unix:${secretPath}`, '--via', via]);
      procs.push(dial);
      dial.child.stdin?.end('x');
      const exited = await Promise.race([dial.exited, new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
      expect(exited, `run ${run}`).toMatchObject({ code: 0, stdout: 'secret\n' });
    }
    expect(secret.accepted()).toBe(5);
  });

  it('spoke dial --via ssh:// exits once the far side has ended, with stdin still open', async () => {
    const banner = await startTcpServer((s) => s.end('banner\n'));
    const dial = startCli(['dial', banner.address, '--via', via]);
    procs.push(dial);
    try {
      // stdin stays open: before, the half-open SSH channel kept the process alive for good.
      const exited = await Promise.race([dial.exited, new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
      expect(exited).toMatchObject({ code: 0, stdout: 'banner\n' });
    } finally {
      await banner.close();
    }
  });
});
