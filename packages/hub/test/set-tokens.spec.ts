import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpokeError } from '@spoke/transport-core';
import { createSelfSignedCertificate } from '@spoke/transport-core/pki';
import { createAgent, createHub, createSpokeDialer, type Hub } from '@spoke/hub';

// Issue 18 §2: hub.setTokens replaces the accepted tokens while the hub runs (what `spoke hub` does
// when its token files change): new connections use them, on the WSS port and the CONNECT front end.

const fast = { keepaliveMs: 1_000, idleTimeoutMs: 30_000 };
const serving = createSelfSignedCertificate({ commonName: 'hub', altNames: ['127.0.0.1'], usages: ['server'] });

/** The status line a CONNECT through the front end gets with `token`. */
async function connectStatus(address: string, token: string, target: string): Promise<number> {
  const [host = '', port = ''] = address.split(':');
  const req = http.request({
    host,
    port: Number(port),
    method: 'CONNECT',
    path: target,
    headers: { 'proxy-authorization': `Bearer ${token}` },
  });
  req.end();
  const [res, socket] = (await Promise.race([once(req, 'connect'), once(req, 'response')])) as [http.IncomingMessage, net.Socket?];
  socket?.destroy();
  res.destroy();
  return res.statusCode ?? 0;
}

describe('hub.setTokens (issue 18 §2)', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('new agent and client connections use the replaced tokens; invalid ones are refused and change nothing', async () => {
    const echo = net.createServer((s) => s.on('error', () => s.destroy()).pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    cleanups.push(() => echo.close());
    const target = `127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
    const hub: Hub = await createHub({
      tls: serving,
      session: fast,
      agentTokens: [{ id: 'node-1', token: 'agent-old' }],
      clientTokens: ['client-old'],
      connect: { host: '127.0.0.1', port: 0 },
    });
    cleanups.push(() => hub.destroy());
    const agentWith = (token: string) => {
      const agent = createAgent({
        hub: hub.url,
        id: 'node-1',
        token,
        allow: ['127.0.0.1/32'],
        session: fast,
        tls: { fingerprint: hub.fingerprint as string },
        backoff: { initialDelayMs: 50, maxDelayMs: 200 },
      });
      cleanups.push(() => agent.destroy());
      return agent;
    };
    const old = agentWith('agent-old');
    await old.waitConnected(1, { signal: AbortSignal.timeout(10_000) });

    hub.setTokens({ agentTokens: [{ id: 'node-1', token: 'agent-new' }], clientTokens: ['client-new'] });
    // The open agent session stays; a new one needs the new token.
    expect(hub.agents().map((a) => a.id)).toEqual(['node-1']);
    old.destroy();
    const fresh = agentWith('agent-new');
    await fresh.waitConnected(1, { signal: AbortSignal.timeout(10_000) });

    const dialWith = async (token: string): Promise<unknown> => {
      const dialer = createSpokeDialer({ url: hub.url, token, tls: { fingerprint: hub.fingerprint as string } });
      try {
        const stream = await dialer.dial(target, { signal: AbortSignal.timeout(5_000) });
        stream.destroy();
        return 'ok';
      } catch (err) {
        return (err as SpokeError).code;
      } finally {
        await dialer.close();
      }
    };
    expect(await dialWith('client-old')).toBe('ERR_AUTH_FAILED');
    expect(await dialWith('client-new')).toBe('ok');
    const address = hub.connectAddress as string;
    expect(await connectStatus(address, 'client-old', target)).toBe(407);
    expect(await connectStatus(address, 'client-new', target)).toBe(200);

    // No agent authentication left, or a repeated token: refused, and the tokens in force stay.
    expect(() => hub.setTokens({ agentTokens: [] })).toThrowError(expect.objectContaining({ code: 'ERR_BAD_OPTION' }) as Error);
    expect(() => hub.setTokens({ agentTokens: ['same', 'same'] })).toThrowError(
      expect.objectContaining({ code: 'ERR_BAD_OPTION' }) as Error,
    );
    expect(await dialWith('client-new')).toBe('ok');
  });
});
