import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshDialer, type SshDialer } from '@spoke/dialer-ssh';
import { SpokeError } from '@spoke/transport-core';
import { echo, readExactly, serveTcp, waitFor, type ServedTarget } from '@spoke/transport-core/testing';
import { startSshd, type Sshd } from '../src/testing/sshd.js';

/** A TCP relay to sshd that can go silent: bytes stop flowing both ways while the sockets stay open, as with a dead peer. */
interface Relay {
  port: number;
  /** Bytes relayed from sshd to the client so far. */
  fromServer(): number;
  /** Stops relaying on the connections open now (later ones flow). */
  freeze(): void;
  close(): Promise<void>;
}

async function startRelay(sshd: Sshd): Promise<Relay> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let fromServer = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(sshd.port, sshd.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    for (const s of pair) s.on('error', () => {});
    upstream.on('data', (b: Buffer) => (fromServer += b.length));
    client.pipe(upstream).pipe(client);
    client.once('close', () => {
      upstream.destroy();
      pairs.delete(pair);
    });
    upstream.once('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    fromServer: () => fromServer,
    freeze() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    async close() {
      for (const pair of pairs) for (const s of pair) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('SSH keepalives against OpenSSH sshd', () => {
  let sshd: Sshd;
  let relay: Relay;
  let svc: ServedTarget;
  let ssh: SshDialer;

  beforeAll(async () => {
    sshd = await startSshd();
    relay = await startRelay(sshd);
    svc = await serveTcp(echo);
    ssh = createSshDialer({
      host: '127.0.0.1',
      port: relay.port,
      username: sshd.username,
      privateKeyFile: sshd.clientKeyFile,
      hostKey: sshd.fingerprint,
      keepaliveMs: 200,
      keepaliveCountMax: 2,
    });
  });
  afterAll(async () => {
    ssh?.destroy();
    await svc?.close();
    await relay?.close();
    await sshd?.cleanup();
  });

  /** Writes `text` and reads its echo. */
  const roundTrip = async (s: Duplex, text: string): Promise<string> => {
    const reply = readExactly(s, text.length);
    s.resume(); // a previous readExactly leaves the stream paused
    s.write(text);
    return (await reply).toString();
  };

  it('keeps an idle connection whose server answers keepalives', async () => {
    const s = await ssh.dial(svc.target);
    try {
      expect(await roundTrip(s, 'a')).toBe('a');
      const before = relay.fromServer();
      // Six keepalive rounds (28+ bytes each) with no other traffic, more than the 3 an unanswered count allows.
      await waitFor(() => relay.fromServer() >= before + 6 * 28, 'keepalive replies from sshd');
      expect(await roundTrip(s, 'b')).toBe('b');
    } finally {
      s.destroy();
    }
  });

  it('drops a connection whose server went silent after keepaliveCountMax unanswered keepalives', async () => {
    const s = await ssh.dial(svc.target);
    expect(await roundTrip(s, 'a')).toBe('a');
    const failed = new Promise<unknown>((resolve) => {
      s.once('error', resolve);
      s.once('end', () => resolve(new Error('ended cleanly')));
    });
    relay.freeze();
    const frozenAt = Date.now();
    const err = await failed;
    // (keepaliveCountMax + 1) intervals, 600 ms, plus room for a loaded machine.
    expect(Date.now() - frozenAt).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    expect(((err as SpokeError).cause as Error).message).toMatch(/stopped answering keepalives/);
    // The next dial opens a new connection.
    const again = await ssh.dial(svc.target);
    try {
      expect(await roundTrip(again, 'c')).toBe('c');
    } finally {
      again.destroy();
    }
  });
});
