import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshDialer, type SshDialerOptions } from '@spoke/dialer-ssh';
import http from 'node:http';
import { SpokeError, createHttpAgent } from '@spoke/transport-core';
import { closedTcpPort, echo, readAll, readDigest, serveTcp, writeBytes, type ServedTarget } from '@spoke/transport-core/testing';
import { keygen, startSshd, type Sshd } from '../src/testing/sshd.js';
import { sshdLogin } from './logins.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpokeError);
  return (err as SpokeError).code;
}

describe('SshDialer against OpenSSH sshd', () => {
  let sshd: Sshd;
  let services: ServedTarget[] = [];
  const dialers: Array<{ close(): Promise<void> }> = [];
  const make = (extra: Partial<SshDialerOptions> = {}) => {
    const d = createSshDialer({ ...sshdLogin(sshd), ...extra });
    dialers.push(d);
    return d;
  };
  const serve = async (h: Parameters<typeof serveTcp>[0]) => {
    const s = await serveTcp(h);
    services.push(s);
    return s.target;
  };

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await Promise.all(dialers.map((d) => d.close()));
    await Promise.all(services.map((s) => s.close()));
    services = [];
    await sshd?.cleanup();
  });

  it('moves 64 MiB each way with matching sha256 and half-closes both ways', async () => {
    const ssh = make();
    let received: Promise<{ bytes: number; sha256: string }> | undefined;
    const target = await serve((s) => {
      received = readDigest(s);
      void writeBytes(s, 64 * MiB);
    });
    const s = await ssh.dial(target);
    const down = readDigest(s);
    const sent = await writeBytes(s, 64 * MiB);
    expect((await down).bytes).toBe(64 * MiB);
    expect(await received).toEqual(sent);
  });

  it('delivers an upload still in flight when the far side has already finished, before the channel closes', async () => {
    const ssh = make();
    let received: Promise<{ bytes: number; sha256: string }> | undefined;
    const target = await serve((t) => {
      // The far side is done at once (one byte, then EOF) and reads slowly, so the SSH window holds the
      // upload's tail when we end: our readable side has ended long before our writes are all sent.
      t.end('x');
      received = readDigest(t);
      t.on('data', () => {
        t.pause();
        setImmediate(() => t.resume());
      });
    });
    const s = await ssh.dial(target);
    const down = readAll(s);
    const sent = await writeBytes(s, 16 * MiB);
    await once(s, 'close');
    expect((await down).toString()).toBe('x');
    expect(await received).toEqual(sent);
  });

  it('reaches unix sockets through direct-streamlocal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-unix-'));
    const path = join(dir, 'echo.sock');
    const server = net.createServer({ allowHalfOpen: true }, echo);
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const s = await make().dial(`unix:${path}`);
      s.end('over a unix socket');
      expect((await readAll(s)).toString()).toBe('over a unix socket');
      expect(await codeOf(make().dial(`unix:${join(dir, 'missing.sock')}`))).toMatch(/ERR_DIAL_(REFUSED|FAILED)/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shares one SSH connection between many channels', async () => {
    const before = sshd.sessions();
    const ssh = make();
    const target = await serve(echo);
    const streams = await Promise.all(Array.from({ length: 20 }, () => ssh.dial(target)));
    const got = await Promise.all(
      streams.map((s, i) => {
        s.end(`n${i}`);
        return readAll(s);
      }),
    );
    expect(got.map(String)).toEqual(streams.map((_, i) => `n${i}`));
    expect(sshd.sessions() - before).toBe(1);
  });

  it('carries HTTP through createHttpAgent (streams are socket-like)', async () => {
    const server = http.createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const agent = createHttpAgent(make(), { keepAlive: true });
    try {
      const { port } = server.address() as net.AddressInfo;
      for (const path of ['/a', '/b']) {
        const body = await new Promise<string>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path, agent, signal: AbortSignal.timeout(10_000) }, (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => (text += c));
              res.on('end', () => resolve(text));
            })
            .on('error', reject);
        });
        expect(body).toBe(`hello ${path}`);
      }
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('maps a refused target to ERR_DIAL_REFUSED', async () => {
    expect(await codeOf(make().dial(await closedTcpPort()))).toBe('ERR_DIAL_REFUSED');
  });

  it('fails with ERR_AUTH_FAILED listing the methods the server offers', async () => {
    const other = await keygen(join(sshd.dir, 'stranger'));
    const err = await make({ privateKeyFile: other })
      .dial('127.0.0.1:1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_AUTH_FAILED');
    expect((err as SpokeError).message).toContain('the server accepts publickey');
    expect((err as SpokeError).message).not.toContain('PRIVATE KEY');
  });

  it('logs in with a passphrase-protected key and refuses a wrong passphrase at creation', async () => {
    const locked = await keygen(join(sshd.dir, 'locked'), 'correct horse');
    writeFileSync(
      join(sshd.dir, 'authorized_keys'),
      readFileSync(join(sshd.dir, 'authorized_keys'), 'utf8') + readFileSync(`${locked}.pub`, 'utf8'),
    );
    const target = await serve(echo);
    const s = await make({ privateKeyFile: locked, passphrase: 'correct horse' }).dial(target);
    s.end('unlocked');
    expect((await readAll(s)).toString()).toBe('unlocked');
    expect(() => make({ privateKeyFile: locked, passphrase: 'wrong' })).toThrow(/passphrase/i);
  });

  it('authenticates with keys held by ssh-agent', async () => {
    const sock = join(sshd.dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      // ssh-agent -D prints its environment once the socket is listening.
      await once(agent.stdout, 'data');
      await run('ssh-add', [sshd.clientKeyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const target = await serve(echo);
      const s = await make({ privateKeyFile: undefined, agent: sock }).dial(target);
      s.end('agent');
      expect((await readAll(s)).toString()).toBe('agent');
    } finally {
      agent.kill();
      if (agent.exitCode === null && agent.signalCode === null) await once(agent, 'exit');
    }
  });

  it('pins the fingerprint exactly as ssh-keygen -lf prints it', async () => {
    const target = await serve(echo);
    const s = await make({ knownHostsFile: undefined, hostKey: sshd.fingerprint }).dial(target);
    s.end('pinned');
    expect((await readAll(s)).toString()).toBe('pinned');
    const err = await make({ knownHostsFile: undefined, hostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
      .dial(target)
      .catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_HOST_KEY_MISMATCH');
    expect((err as SpokeError).message).toContain(sshd.fingerprint);
  });

  describe('known_hosts', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'spoke-kh-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const connect = (knownHostsFile: string) => make({ knownHostsFile }).connect({ timeoutMs: 20_000 });

    it('accepts a hashed entry written by ssh-keygen -H', async () => {
      const p = file('hashed', `# comment\n[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
      await run('ssh-keygen', ['-H', '-f', p]);
      const text = readFileSync(p, 'utf8');
      expect(text).toMatch(/^\|1\|/m);
      expect(text).not.toContain('127.0.0.1');
      await connect(p);
    });

    it('accepts a plain comma list entry', async () => {
      await connect(file('plain', `other.example,[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine} note\n`));
    });

    it('does not take the bare host for a non-22 port (port form required)', async () => {
      const err = await connect(file('bare', `127.0.0.1 ${sshd.hostKeyLine}\n`)).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_HOST_KEY_UNKNOWN');
      expect((err as SpokeError).message).toContain(sshd.fingerprint);
      expect((err as SpokeError).message).toContain(`[127.0.0.1]:${sshd.port}`);
    });

    it('refuses a changed key with ERR_HOST_KEY_MISMATCH showing both fingerprints', async () => {
      const other = await keygen(join(dir, 'otherhost'));
      const otherLine = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
      const err = await connect(file('mismatch', `[127.0.0.1]:${sshd.port} ${otherLine}\n`)).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_HOST_KEY_MISMATCH');
      expect((err as SpokeError).message).toContain(sshd.fingerprint);
    });

    it('refuses a @revoked key even when also listed', async () => {
      const err = await connect(file('revoked', `@revoked * ${sshd.hostKeyLine}\n[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`)).catch(
        (e: unknown) => e,
      );
      expect((err as SpokeError).code).toBe('ERR_HOST_KEY_REVOKED');
    });

    it('explains that @cert-authority lines are not supported', async () => {
      const err = await connect(file('ca', `@cert-authority * ${sshd.hostKeyLine}\n`)).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_HOST_KEY_UNKNOWN');
      expect((err as SpokeError).message).toMatch(/cert-authority.*not supported/);
    });
  });

  it('reaches sshd through another SSH connection (two hops)', async () => {
    const bastion = make();
    const inner = make({ via: bastion });
    const target = await serve(echo);
    const s = await inner.dial(target);
    s.end('two hops');
    expect((await readAll(s)).toString()).toBe('two hops');
  });
});

describe('SshDialer against a restricted sshd', () => {
  it('maps a PermitOpen refusal to ERR_DIAL_DENIED', async () => {
    const sshd = await startSshd({ config: ['PermitOpen 127.0.0.1:1'] });
    const ssh = createSshDialer(sshdLogin(sshd));
    const svc = await serveTcp(echo);
    try {
      const err = await ssh.dial(svc.target).catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_DIAL_DENIED');
      expect((err as SpokeError).message).toMatch(/PermitOpen/);
    } finally {
      await ssh.close();
      await svc.close();
      await sshd.cleanup();
    }
  });

  it('fails streams with a coded error when sshd dies mid-transfer, and reconnects on the next dial', async () => {
    const sshd = await startSshd();
    const ssh = createSshDialer({ ...sshdLogin(sshd), keepaliveMs: 1000 });
    const svc = await serveTcp((s) => {
      s.on('error', () => {});
      s.resume();
      void writeBytes(s, 1024 * MiB).catch(() => {});
    });
    try {
      const s = await ssh.dial(svc.target);
      let got = 0;
      const failed = new Promise<unknown>((resolve) => {
        s.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= 4 * MiB && got - c.length < 4 * MiB) void sshd.kill();
        });
        s.once('error', resolve);
        s.once('end', () => resolve(new Error('clean end')));
      });
      const err = await failed;
      expect(err).toBeInstanceOf(SpokeError);
      expect(['ERR_TUNNEL_CLOSED', 'ERR_STREAM_RESET']).toContain((err as SpokeError).code);
      await sshd.restart();
      const echoSvc = await serveTcp(echo);
      try {
        const again = await ssh.dial(echoSvc.target, { timeoutMs: 20_000 });
        again.end('back');
        expect((await readAll(again)).toString()).toBe('back');
      } finally {
        await echoSvc.close();
      }
    } finally {
      await ssh.close();
      await svc.close();
      await sshd.cleanup();
    }
  });
});
