import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshTunnelSet, type SshTunnelEvent, type SshTunnelNode } from '@spoke/dialer-ssh';
import type { Duplex } from 'node:stream';
import type { SpokeError } from '@spoke/transport-core';
import { echo, readAll, serveTcp, type ServedTarget } from '@spoke/transport-core/testing';
import { startFakeSshServer, type FakeSshServer } from './ssh2-server.js';
import { fakeServerLogin } from './logins.js';

describe('createSshTunnelSet', () => {
  let a: FakeSshServer;
  let b: FakeSshServer;
  let svc: ServedTarget;
  let port: number;
  const node = (name: string, s: FakeSshServer): SshTunnelNode => ({
    name,
    address: `${name}.spoke.test`,
    ...fakeServerLogin(s),
  });
  const roundTrip = async (dial: Promise<Duplex>, text: string): Promise<string> => {
    const s = await dial;
    s.end(text);
    return (await readAll(s)).toString();
  };

  beforeAll(async () => {
    [a, b] = await Promise.all([startFakeSshServer(), startFakeSshServer()]);
    svc = await serveTcp(echo);
    port = (svc.target as { port: number }).port;
  });
  afterAll(async () => {
    await svc?.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  it("routes a target to its own node's tunnel and refuses others with ERR_NO_ROUTE", async () => {
    const set = createSshTunnelSet({ nodes: [node('a', a), node('b', b)] });
    try {
      const [ca, cb] = [a.channels(), b.channels()];
      expect(await roundTrip(set.dialer().dial(`a.spoke.test:${port}`), 'to a')).toBe('to a');
      expect(await roundTrip(set.dialer().dial(`b.spoke.test:${port}`), 'to b')).toBe('to b');
      expect([a.channels() - ca, b.channels() - cb]).toEqual([1, 1]);
      const err = await set
        .dialer()
        .dial(`c.spoke.test:${port}`)
        .catch((e: unknown) => e);
      expect((err as SpokeError).code).toBe('ERR_NO_ROUTE');
      expect((err as SpokeError).message).toContain('a.spoke.test');
    } finally {
      await set.close();
    }
  });

  it("uses any tunnel for unmatched targets only with fallback: 'random'", async () => {
    const events: SshTunnelEvent[] = [];
    const set = createSshTunnelSet({ nodes: [node('a', a)], fallback: 'random', onEvent: (e) => events.push(e) });
    try {
      expect(await roundTrip(set.dialer().dial(`127.0.0.1:${port}`), 'fallback')).toBe('fallback');
      expect(events.some((e) => e.type === 'fallback' && e.name === 'a')).toBe(true);
    } finally {
      await set.close();
    }
  });

  it('adds and removes tunnels on update()', async () => {
    const set = createSshTunnelSet({ nodes: [node('a', a)] });
    try {
      await set.update([node('b', b)]);
      expect(set.tunnels().map((t) => t.name)).toEqual(['b']);
      expect(
        (
          (await set
            .dialer()
            .dial(`a.spoke.test:${port}`)
            .catch((e: unknown) => e)) as SpokeError
        ).code,
      ).toBe('ERR_NO_ROUTE');
      expect(await roundTrip(set.dialer().dial(`b.spoke.test:${port}`), 'b only')).toBe('b only');
      await set.update([node('a', a), node('b', b)]);
      expect(
        set
          .tunnels()
          .map((t) => t.name)
          .sort(),
      ).toEqual(['a', 'b']);
      expect(() => createSshTunnelSet({ nodes: [node('a', a), node('a', b)] })).toThrow(/unique name/);
    } finally {
      await set.close();
    }
  });

  it('replaces a tunnel whose health probe fails, on the periodic check', async () => {
    let failA = true;
    const replaced = new Promise<SshTunnelEvent>((resolve) => {
      const set = createSshTunnelSet({
        nodes: [node('a', a), node('b', b)],
        healthCheck: {
          intervalMs: 50,
          probe: async (dialer, signal) => {
            const s = await dialer.dial(`127.0.0.1:${port}`, { signal });
            s.end('ping');
            await readAll(s);
            if (failA && (dialer as { hop?: string }).hop?.endsWith(`:${a.port}`)) throw new Error('kubelet healthz said 500');
          },
        },
        onEvent: (e) => {
          if (e.type === 'replaced') {
            failA = false;
            void set.close().then(() => resolve(e));
          }
        },
      });
    });
    const e = await replaced;
    expect(e.type === 'replaced' && e.name).toBe('a');
    expect(e.type === 'replaced' && e.error.code).toBe('ERR_TUNNEL_CLOSED');
  });

  it('runs check() on demand and reports replacements in tunnels()', async () => {
    const before = b.connections();
    const set = createSshTunnelSet({
      nodes: [node('b', b)],
      healthCheck: {
        intervalMs: 3_600_000,
        probe: async (dialer, signal) => {
          (await dialer.dial(`127.0.0.1:1`, { signal })).destroy();
        },
      },
    });
    try {
      await set.check();
      const [t] = set.tunnels();
      expect(t?.replacements).toBe(1);
      expect(t?.lastError?.code).toBe('ERR_DIAL_REFUSED');
      expect(b.connections()).toBeGreaterThan(before);
    } finally {
      await set.close();
    }
  });
});
