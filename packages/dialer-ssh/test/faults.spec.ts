import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshDialer, type SshDialer } from '@spoke/dialer-ssh';
import { SpokeError } from '@spoke/transport-core';
import { echo, readAll, serveTcp, waitFor, writeBytes, type ServedTarget } from '@spoke/transport-core/testing';
import { startFakeSshServer, type FakeSshServer } from './ssh2-server.js';
import { fakeServerLogin } from './logins.js';

describe('SshDialer fault handling (in-process ssh2 server)', () => {
  let server: FakeSshServer;
  let ssh: SshDialer;
  let svc: ServedTarget;
  beforeAll(async () => {
    server = await startFakeSshServer();
    svc = await serveTcp(echo);
    ssh = createSshDialer(fakeServerLogin(server));
  });
  afterAll(async () => {
    await ssh?.close();
    await svc?.close();
    await server?.close();
  });

  it.each([
    [1, 'administratively prohibited', 'ERR_DIAL_DENIED'],
    [2, 'Connection refused', 'ERR_DIAL_REFUSED'],
    [2, 'Name or service not known', 'ERR_DIAL_UNREACHABLE'],
    [4, 'resource shortage', 'ERR_TOO_MANY_STREAMS'],
  ] as const)('maps channel rejection reason %i "%s" to %s', async (reason, description, code) => {
    server.faults.rejectWith = { reason, description };
    try {
      const err = await ssh.dial(svc.target).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SpokeError);
      expect((err as SpokeError).code).toBe(code);
    } finally {
      delete server.faults.rejectWith;
    }
  });

  it('fails a stream with ERR_TUNNEL_CLOSED when the server dies mid-stream, then reconnects', async () => {
    const before = server.connections();
    const big = await serveTcp((s) => {
      s.on('error', () => {});
      s.resume();
      void writeBytes(s, 256 * 1024 * 1024).catch(() => {});
    });
    try {
      server.faults.dieAfterBytes = 1024 * 1024;
      const s = await ssh.dial(big.target);
      const err = await new Promise<unknown>((resolve) => {
        s.resume();
        s.once('error', resolve);
        s.once('end', () => resolve(new Error('ended cleanly')));
      });
      expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
      delete server.faults.dieAfterBytes;
      const again = await ssh.dial(svc.target);
      again.end('reconnected');
      expect((await readAll(again)).toString()).toBe('reconnected');
      expect(server.connections()).toBeGreaterThan(before);
    } finally {
      delete server.faults.dieAfterBytes;
      await big.close();
    }
  });

  it('refuses an unknown host key with ERR_HOST_KEY_UNKNOWN and waits with backoff before retrying', async () => {
    const stranger = createSshDialer({
      ...fakeServerLogin(server),
      knownHosts: '',
      reconnectBackoff: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 },
    });
    try {
      const first = await stranger.dial(svc.target).catch((e: unknown) => e);
      expect((first as SpokeError).code).toBe('ERR_HOST_KEY_UNKNOWN');
      expect((first as SpokeError).message).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
      const count = server.connections();
      // Inside the backoff window a short dial times out without touching the server.
      const second = await stranger.dial(svc.target, { timeoutMs: 100 }).catch((e: unknown) => e);
      expect((second as SpokeError).code).toBe('ERR_DIAL_TIMEOUT');
      expect(server.connections()).toBe(count);
    } finally {
      await stranger.close();
    }
  });

  it('closes the pooled connection once idle and reopens it lazily', async () => {
    const idle = createSshDialer({
      ...fakeServerLogin(server),
      knownHosts: undefined,
      insecureAcceptAnyHostKey: true,
      warn: () => {},
      idleTimeoutMs: 50,
    });
    try {
      await ssh.close();
      const before = server.connections();
      const s = await idle.dial(svc.target);
      s.end('x');
      await readAll(s);
      // The connection drops after 50 ms idle; a later dial opens a new one.
      await waitFor(() => server.openConnections() === 0, 'the idle connection to close');
      const t = await idle.dial(svc.target);
      t.end('y');
      await readAll(t);
      expect(server.connections() - before).toBe(2);
    } finally {
      await idle.close();
    }
  });
});

describe('SshDialer close() and destroy()', () => {
  it('close() lets a handed-out stream finish; destroy() fails streams at once', async () => {
    const server = await startFakeSshServer();
    const svc = await serveTcp(echo);
    const options = fakeServerLogin(server);
    try {
      const graceful = createSshDialer(options);
      const s = await graceful.dial(svc.target);
      let closeDone = false;
      const closing = graceful.close().then(() => (closeDone = true));
      expect(((await graceful.dial(svc.target).catch((e: unknown) => e)) as SpokeError).code).toBe('ERR_DIALER_CLOSED');
      s.write('still ');
      s.end('works');
      expect((await readAll(s)).toString()).toBe('still works');
      await closing;
      expect(closeDone).toBe(true);

      const abrupt = createSshDialer(options);
      const t = await abrupt.dial(svc.target);
      const failed = new Promise<unknown>((resolve) => t.once('error', resolve));
      abrupt.destroy();
      expect(((await failed) as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    } finally {
      await svc.close();
      await server.close();
    }
  });
});
