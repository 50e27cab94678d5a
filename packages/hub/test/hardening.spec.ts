import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError, createLogger } from '@spoke/transport-core';
import { createAgent, createHub } from '@spoke/hub';
import { fetchWithCa } from './fetch-with-ca.js';

const AGENT_TOKEN = 'agent-hardening-token-1';
const CLIENT_TOKEN = 'client-hardening-token-2';
const fast = { keepaliveMs: 1_000, idleTimeoutMs: 30_000 };

/** A unix socket server that counts the connections it accepts. */
async function unixServer(dir: string): Promise<{ path: string; accepted: () => number; close(): Promise<void> }> {
  const path = join(dir, 'secret.sock');
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted += 1;
    s.destroy();
  });
  server.listen(path);
  await once(server, 'listening');
  return { path, accepted: () => accepted, close: () => new Promise((r) => server.close(() => r())) };
}

describe('hub hardening', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('the CONNECT front end refuses unix: targets with 403 ERR_DIAL_DENIED; neither the agent nor the socket hears of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoke-hub-hardening-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const secret = await unixServer(dir);
    cleanups.push(() => secret.close());
    const hub = await createHub({
      agentTokens: [AGENT_TOKEN],
      clientTokens: [CLIENT_TOKEN],
      connect: { host: '127.0.0.1', port: 0 },
      session: fast,
    });
    cleanups.push(() => hub.destroy());
    const agentLog: string[] = [];
    const agent = createAgent({
      hub: hub.url,
      id: 'node-1',
      identifiers: 'host=node-1&default-route=true',
      allow: ['127.0.0.1/32'],
      token: AGENT_TOKEN,
      tls: { fingerprint: hub.fingerprint as string },
      session: fast,
      logger: createLogger({ write: (line) => agentLog.push(line), level: 'debug' }),
    });
    cleanups.push(() => agent.destroy());
    await agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });

    const [host, port] = (hub.connectAddress as string).split(':');
    const answer = await new Promise<{ status: number; code: string | undefined }>((resolve, reject) => {
      http
        .request({
          host,
          port: Number(port),
          method: 'CONNECT',
          path: `unix:${secret.path}`,
          headers: { 'proxy-authorization': `Bearer ${CLIENT_TOKEN}` },
        })
        .on('connect', (res, socket) => {
          socket.destroy();
          resolve({ status: res.statusCode ?? 0, code: res.headers['x-spoke-error-code'] as string | undefined });
        })
        .on('error', reject)
        .end();
    });
    expect(answer).toEqual({ status: 403, code: 'ERR_DIAL_DENIED' });
    expect(secret.accepted()).toBe(0);
    // Refused at the front end: no dial reached the agent (its allow list would have been the only guard).
    expect(agentLog.filter((line) => line.includes('dial'))).toEqual([]);
    expect(hub.metrics()).toContain('spoke_hub_dial_failures_total{code="ERR_DIAL_DENIED"} 1');
  });

  it('refuses a CONNECT front end on a non-loopback address (tokens in cleartext); loopback and unix sockets are fine', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      const err = await createHub({ agentTokens: [AGENT_TOKEN], clientTokens: [CLIENT_TOKEN], connect: { host, port: 0 } }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SpokeError);
      expect((err as SpokeError).code).toBe('ERR_BAD_OPTION');
      expect((err as SpokeError).message).toMatch(/cleartext.*loopback.*unix socket/s);
    }
    const dir = mkdtempSync(join(tmpdir(), 'spoke-hub-hardening-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const viaUnix = await createHub({ agentTokens: [AGENT_TOKEN], connect: { path: join(dir, 'connect.sock') } });
    cleanups.push(() => viaUnix.destroy());
    expect(viaUnix.connectAddress).toBe(`unix:${join(dir, 'connect.sock')}`);
    const loopback = await createHub({ agentTokens: [AGENT_TOKEN], clientTokens: [CLIENT_TOKEN], connect: { host: '127.0.0.1', port: 0 } });
    cleanups.push(() => loopback.destroy());
    expect(loopback.connectAddress).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('the public WSS port answers /healthz only: /metrics and /readyz are not served there', async () => {
    const hub = await createHub({ agentTokens: [AGENT_TOKEN] });
    cleanups.push(() => hub.destroy());
    const base = hub.url.replace('wss', 'https');
    const ca = hub.certificate as string;
    expect(await fetchWithCa(`${base}/healthz`, ca)).toEqual({ status: 200, body: 'ok\n' });
    for (const path of ['/metrics', '/readyz', '/ready']) {
      const res = await fetchWithCa(`${base}${path}`, ca);
      expect(res.status).toBe(404);
      expect(res.body).not.toContain('spoke_hub');
      expect(res.body).not.toContain('agent(s)');
    }
    // The numbers are still there for whoever embeds the hub.
    expect(hub.metrics()).toContain('spoke_hub_agents 0');
  });
});
