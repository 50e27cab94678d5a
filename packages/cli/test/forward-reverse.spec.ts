import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from './support/cli-process.js';
import { freeRegisteredPort } from './support/ports.js';
import { startTcpServer, type Served } from './support/servers.js';

// Issue 18 §3: `spoke forward -R` through a real `spoke hub`: the hub listens on its side and each
// connection it accepts is forwarded, from the forward process, to a service local to it.

interface RunningHub {
  process: CliProcess;
  /** The --via URI for clients. */
  via: string;
}

async function startHub(extra: readonly string[]): Promise<RunningHub> {
  const hub = startCli(['hub', '--listen', '127.0.0.1:0', ...extra]);
  const [line = ''] = await hub.line(/^spoke hub listening: .+$/m);
  const address = /wss:\/\/(\S+)/.exec(line)?.[1] ?? '';
  const fingerprint = /fingerprint=(\S+)/.exec(line)?.[1] ?? '';
  const tokenFile = /client-token-file=(\S+)/.exec(line)?.[1] ?? '';
  return { process: hub, via: `spoke+wss://${address}/?token-file=${tokenFile}&fingerprint=${fingerprint}` };
}

/** Starts `spoke forward -R ...` and resolves once it printed the hub-side address of each listener. */
async function startReverse(hub: RunningHub, specs: readonly string[]): Promise<{ cli: CliProcess; bound: string[] }> {
  const cli = startCli(['forward', ...specs.flatMap((s) => ['-R', s]), '--via', hub.via]);
  const [line = ''] = await cli.line(/^spoke forward listening: .+$/m);
  return { cli, bound: [...line.matchAll(/hub (\S+) -> /g)].map((m) => m[1] ?? '') };
}

function connect(address: string): net.Socket {
  const colon = address.lastIndexOf(':');
  return net.connect(Number(address.slice(colon + 1)), address.slice(0, colon)).on('error', () => {});
}

/** Writes `text` and resolves with the echo of it, leaving the connection open. */
async function echoOnce(socket: net.Socket, text: string): Promise<string> {
  socket.write(text);
  let got = '';
  while (got.length < text.length) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    got += chunk.toString();
  }
  return got;
}

describe('spoke forward -R through spoke hub (real processes)', () => {
  let echo: Served;
  let hub: RunningHub;
  let closedHub: RunningHub;
  beforeAll(async () => {
    echo = await startTcpServer((s) => s.pipe(s));
    [hub, closedHub] = await Promise.all([startHub(['--allow-reverse', 'loopback', '--max-reverse-connections', '2']), startHub([])]);
  });
  afterAll(async () => {
    await Promise.all([hub?.process.stop(), closedHub?.process.stop()]);
    await echo?.close();
  });

  it('a TCP service local to spoke forward is reachable at the hub’s listener, two connections at once', async () => {
    const { cli, bound } = await startReverse(hub, [`0:${echo.address}`]);
    try {
      expect(bound).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
      const [a, b] = [connect(bound[0] ?? ''), connect(bound[0] ?? '')];
      // Both open at once, each carrying its own bytes.
      expect(await Promise.all([echoOnce(a, 'first'), echoOnce(b, 'second')])).toEqual(['first', 'second']);
      expect(await echoOnce(a, 'first again')).toBe('first again');
      a.destroy();
      b.destroy();
    } finally {
      expect((await cli.stop('SIGINT')).code).toBe(0);
    }
  });

  it('the listener is gone once the forward process exits (even killed)', async () => {
    const { cli, bound } = await startReverse(hub, [`0:${echo.address}`]);
    const from = hub.process.stderr.length;
    await cli.stop('SIGKILL');
    await hub.process.stderrMatch(new RegExp(`reverse listener closed.*bound=${(bound[0] ?? '').replace(/\./g, '\\.')}`), from);
    const [error] = (await once(connect(bound[0] ?? ''), 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('a listener carries at most --max-reverse-connections at once; the one over is closed, the others keep going', async () => {
    const { cli, bound } = await startReverse(hub, [`0:${echo.address}`]);
    try {
      const held = [connect(bound[0] ?? ''), connect(bound[0] ?? '')];
      await Promise.all(held.map((s, i) => echoOnce(s, `held ${i}`)));
      const from = hub.process.stderr.length;
      const over = connect(bound[0] ?? '');
      await once(over, 'close');
      await hub.process.stderrMatch(/reverse connection refused: listener full/, from);
      expect(await echoOnce(held[0] as net.Socket, 'still here')).toBe('still here');
      for (const s of held) s.destroy();
    } finally {
      expect((await cli.stop('SIGINT')).code).toBe(0);
    }
  });

  it('is refused (exit 1, ERR_DIAL_DENIED) by a hub without --allow-reverse, and for a bind outside the allowed range', async () => {
    const off = await runCli(['forward', '-R', `0:${echo.address}`, '--via', closedHub.via]);
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('ERR_DIAL_DENIED');
    expect(off.stderr).toContain('--allow-reverse');
    const wide = await runCli(['forward', '-R', `0.0.0.0:0:${echo.address}`, '--via', hub.via]);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain('ERR_DIAL_DENIED');
    expect(wide.stderr).toContain('outside --allow-reverse');
  });

  it('after the hub restarts (same --state-dir and port) -R asks again and serves; a hub that now refuses ends it with exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-reverse-state-'));
    const [hubPort, listenPort] = [await freeRegisteredPort(), await freeRegisteredPort()];
    const args = (allow: boolean): string[] => [
      '--state-dir',
      dir,
      '--listen',
      `127.0.0.1:${hubPort}`,
      ...(allow ? ['--allow-reverse', 'loopback'] : []),
    ];
    let restarted: RunningHub | undefined;
    let cli: CliProcess | undefined;
    try {
      const first = await startHub(args(true));
      const via = first.via.replace(/token-file=[^&]*/, `token-file=${join(dir, 'client-tokens')}`);
      ({ cli } = await startReverse({ ...first, via }, [`${listenPort}:${echo.address}`]));
      await first.process.stop('SIGKILL');
      await cli.stderrMatch(/the hub session ended: asking the hub for the -R listener again/);
      restarted = await startHub(args(true));
      await cli.stderrMatch(/reverse forwarding again/);
      const socket = connect(`127.0.0.1:${listenPort}`);
      expect(await echoOnce(socket, 'after the restart')).toBe('after the restart');
      socket.destroy();
      // The hub comes back without --allow-reverse: asking again cannot help.
      await restarted.process.stop('SIGKILL');
      restarted = await startHub(args(false));
      const result = await cli.exited;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/the hub refuses the -R listener.*ERR_DIAL_DENIED/);
    } finally {
      await cli?.stop('SIGKILL');
      await restarted?.process.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--reverse-token-file: only the clients holding one of its tokens may listen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-reverse-'));
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    const clients = file('clients', 'reverse-ok-token\nplain-client-token\n');
    const may = file('may-listen', 'reverse-ok-token\n');
    const plain = file('plain', 'plain-client-token\n');
    const allowed = file('allowed', 'reverse-ok-token\n');
    const gated = await startHub(['--client-token-file', clients, '--allow-reverse', 'loopback', '--reverse-token-file', may]);
    try {
      const withToken = (token: string): RunningHub => ({ ...gated, via: gated.via.replace(/token-file=[^&]*/, `token-file=${token}`) });
      const refused = await runCli(['forward', '-R', `0:${echo.address}`, '--via', withToken(plain).via]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('may not open reverse listeners');
      const { cli, bound } = await startReverse(withToken(allowed), [`0:${echo.address}`]);
      const socket = connect(bound[0] ?? '');
      expect(await echoOnce(socket, 'token allowed')).toBe('token allowed');
      socket.destroy();
      expect((await cli.stop('SIGINT')).code).toBe(0);
    } finally {
      await gated.process.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--reverse-token-file without --allow-reverse is a usage error', async () => {
    const result = await runCli(['hub', '--listen', '127.0.0.1:0', '--reverse-token-file', '/nonexistent']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--reverse-token-file needs --allow-reverse');
  });

  it('-R without a spoke hub as the last --via is a usage error (exit 2)', async () => {
    const result = await runCli(['forward', '-R', `0:${echo.address}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the last --via must be spoke+wss://');
  });
});
