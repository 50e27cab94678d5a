import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError, createLogger, createMemoryDialer } from '@spoke/transport-core';
import { createCertificateAuthority } from '@spoke/transport-core/pki';
import { createAgent, createHub, createSpokeDialer, type Agent, type Hub } from '@spoke/hub';
import { agentOf, startHubAndAgent } from './hub-agent.js';
import { fetchWithCa } from './fetch-with-ca.js';
import { createHangingTarget, describeDialer, echo, readAll, serveTcp, waitFor, writeBytes } from '@spoke/transport-core/testing';

const AGENT_TOKEN = 'agent-secret-token-123';
const CLIENT_TOKEN = 'client-secret-token-456';
// Liveness that only bounds a hang: a 1 s idle timeout killed busy sessions on a loaded 2-vCPU machine.
const fast = { keepaliveMs: 1_000, idleTimeoutMs: 30_000 };

const tokens = { agent: AGENT_TOKEN, client: CLIENT_TOKEN };

function startPair(extra: { agentId?: string; identifiers?: string; allow?: string[] } = {}) {
  return startHubAndAgent(
    tokens,
    { session: fast },
    {
      id: extra.agentId ?? 'node-1',
      identifiers: extra.identifiers ?? 'host=node-1&default-route=true',
      allow: extra.allow ?? ['127.0.0.1/32'],
      backoff: { initialDelayMs: 20, maxDelayMs: 200 },
      session: fast,
    },
  );
}

describeDialer('hub.dialer() through a WSS agent', async () => {
  const { hub, agent } = await startPair();
  return {
    dialer: hub.dialer(),
    teardown: () => {
      agent.destroy();
      hub.destroy();
    },
    // Hanging and refused targets are reached by the agent over real TCP; the default harness applies.
  };
});

describeDialer('spoke+wss client dialer → hub → agent', async () => {
  const { hub, agent } = await startPair();
  const client = createSpokeDialer({ url: hub.url, token: CLIENT_TOKEN, tls: { fingerprint: hub.fingerprint as string }, session: fast });
  return {
    dialer: client,
    teardown: () => {
      agent.destroy();
      hub.destroy();
    },
  };
});

describe('hub and agent', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const track = <T extends { destroy(): void }>(x: T): T => {
    cleanups.push(() => x.destroy());
    return x;
  };
  /** An echo service on loopback, closed after the test. */
  const echoTarget = async () => {
    const target = await serveTcp(echo);
    cleanups.push(() => target.close());
    return target.target as { host: string; port: number };
  };
  /** `text` through a hub to an echo target comes back whole. */
  const expectEcho = async (hub: Hub, text: string) => {
    const s = await hub.dial(await echoTarget());
    s.end(text);
    expect((await readAll(s)).toString()).toBe(text);
  };
  /** A hub with its HTTP CONNECT front end on loopback and one agent, both destroyed after the test. */
  const startConnectFront = async () => {
    const { hub, agent } = await startHubAndAgent(tokens, { connect: { host: '127.0.0.1', port: 0 }, session: fast }, { session: fast });
    return { hub: track(hub), agent: track(agent) };
  };

  it('denies targets outside --allow with ERR_DIAL_DENIED, visible to the client', async () => {
    const { hub, agent } = await startPair({ allow: ['10.0.0.0/8'] });
    track(hub);
    track(agent);
    const err = await hub.dial(await echoTarget()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_DIAL_DENIED');
    expect((err as SpokeError).message).toMatch(/--allow/);
  });

  it('routes by identifiers: the agent serving the host gets the dial', async () => {
    const hub = track(await createHub({ agentTokens: [AGENT_TOKEN], session: fast }));
    const seen: string[] = [];
    const mkAgent = (id: string, identifiers: string): Agent => {
      const mem = createMemoryDialer();
      mem.listen('10.0.0.5:80', (s) => {
        s.on('error', () => {});
        seen.push(id);
        s.end(id);
      });
      mem.listen('10.9.9.9:80', (s) => {
        s.on('error', () => {});
        seen.push(id);
        s.end(id);
      });
      return track(
        createAgent({
          hub: hub.url,
          id,
          identifiers,
          allow: ['10.0.0.0/8'],
          token: AGENT_TOKEN,
          tls: { fingerprint: hub.fingerprint as string },
          dialer: mem,
          session: fast,
        }),
      );
    };
    const a = mkAgent('a', 'ipv4=10.0.0.5');
    const b = mkAgent('b', 'default-route=true');
    await a.waitConnected();
    await b.waitConnected();
    await hub.waitForAgents(2);
    expect((await readAll(await hub.dial('10.0.0.5:80'))).toString()).toBe('a');
    expect((await readAll(await hub.dial('10.9.9.9:80'))).toString()).toBe('b');
    expect(seen).toEqual(['a', 'b']);
    expect(
      hub
        .agents()
        .map((x) => x.id)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('fails with ERR_NO_ROUTE when no agent is connected; its metrics say so', async () => {
    const hub = track(await createHub({ agentTokens: [AGENT_TOKEN] }));
    const err = await hub.dial('10.0.0.1:22').catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_NO_ROUTE');
    expect(hub.metrics()).toContain('spoke_hub_agents 0');
  });

  it('refuses a wrong token (401, ERR_AUTH_FAILED) without logging the token', async () => {
    const lines: string[] = [];
    const hub = track(
      await createHub({ agentTokens: [AGENT_TOKEN], logger: createLogger({ write: (l) => lines.push(l), level: 'debug' }) }),
    );
    const errors: SpokeError[] = [];
    const agent = track(
      createAgent({
        hub: hub.url,
        id: 'bad',
        allow: [],
        token: 'wrong-token-789',
        tls: { fingerprint: hub.fingerprint as string },
        backoff: { initialDelayMs: 10_000, maxDelayMs: 10_000 },
      }),
    );
    const client = createSpokeDialer({ url: hub.url, token: 'wrong-token-789', tls: { fingerprint: hub.fingerprint as string } });
    errors.push((await client.dial('127.0.0.1:1').catch((e: unknown) => e)) as SpokeError);
    expect(errors[0]?.code).toBe('ERR_AUTH_FAILED');
    await waitFor(() => lines.some((l) => l.includes('refused agent')), 'the hub to log the refusal');
    expect(lines.join('')).not.toContain('wrong-token-789');
    expect(lines.join('')).not.toContain(AGENT_TOKEN);
    expect(agent.connectedHubs()).toEqual([]);
    expect(hub.agents()).toEqual([]);
  });

  it('refuses a hub whose certificate does not match the pinned fingerprint (ERR_CERT_PIN)', async () => {
    const hub = track(await createHub({ agentTokens: [AGENT_TOKEN], clientTokens: [CLIENT_TOKEN] }));
    const client = createSpokeDialer({ url: hub.url, token: CLIENT_TOKEN, tls: { fingerprint: `sha256:${'00'.repeat(32)}` } });
    const err = await client.dial('127.0.0.1:1').catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_CERT_PIN');
    expect((err as SpokeError).message).toContain(hub.fingerprint as string);
  });

  it('authenticates agents by mTLS client certificate (agentCa)', async () => {
    const ca = createCertificateAuthority({ commonName: 'agents CA' });
    const server = ca.issue({ commonName: 'hub', altNames: ['127.0.0.1', 'localhost'], usages: ['server'] });
    const agentCert = ca.issue({ commonName: 'node-7', usages: ['client'] });
    const hub = track(await createHub({ tls: { cert: server.cert, key: server.key }, agentCa: ca.cert, session: fast }));
    const agent = track(
      createAgent({
        hub: hub.url,
        id: 'node-7',
        allow: ['127.0.0.1/32'],
        tls: { ca: ca.cert, cert: agentCert.cert, key: agentCert.key },
        session: fast,
      }),
    );
    await agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });
    expect(hub.agents()[0]?.id).toBe('node-7');
  });

  it('an agent killed mid-transfer fails the stream with a code; a new agent serves new dials', async () => {
    const { hub, agent } = await startPair();
    track(hub);
    const sink = await serveTcp((s) => s.resume());
    cleanups.push(() => sink.close());
    const s = await hub.dial(sink.target);
    const failed = new Promise<Error>((r) => s.once('error', r));
    void writeBytes(s, 1024 * 1024 * 1024).catch(() => {});
    await waitFor(() => (hub.agents()[0]?.streams ?? 0) > 0, 'the transfer to start');
    agent.destroy();
    const err = await failed;
    expect(err).toBeInstanceOf(SpokeError);
    expect((err as SpokeError).code).toBe('ERR_TUNNEL_CLOSED');
    const again = track(agentOf(hub, AGENT_TOKEN, { session: fast }));
    await again.waitConnected();
    await expectEcho(hub, 'back');
  });

  it('agents come back by themselves after the hub restarts', async () => {
    const ca = createCertificateAuthority({ commonName: 'hub CA' });
    const cert = ca.issue({ commonName: 'hub', altNames: ['127.0.0.1'], usages: ['server'] });
    const first = await createHub({ agentTokens: [AGENT_TOKEN], tls: cert, session: fast });
    const port = Number(new URL(first.url).port);
    const agent = track(
      createAgent({
        hub: first.url,
        id: 'node-1',
        allow: ['127.0.0.1/32'],
        token: AGENT_TOKEN,
        tls: { ca: ca.cert },
        backoff: { initialDelayMs: 20, maxDelayMs: 100 },
        session: fast,
      }),
    );
    await agent.waitConnected();
    const disconnected = once(agent, 'disconnected');
    first.destroy();
    await disconnected;
    const second = track(await createHub({ listen: { host: '127.0.0.1', port }, agentTokens: [AGENT_TOKEN], tls: cert, session: fast }));
    await second.waitForAgents(1, { signal: AbortSignal.timeout(10_000) });
    await expectEcho(second, 'after restart');
  });

  it('serves HTTP CONNECT with a client token; errors carry a status and X-Spoke-Error-Code', async () => {
    const { hub: front } = await startConnectFront();
    const t = await echoTarget();
    const [host, port] = (front.connectAddress as string).split(':');
    const connect = (auth?: string) =>
      new Promise<{ status: number; socket: net.Socket; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        http
          .request({
            host,
            port: Number(port),
            method: 'CONNECT',
            path: `${t.host}:${t.port}`,
            headers: auth ? { 'proxy-authorization': auth } : {},
          })
          .on('connect', (res, socket) => resolve({ status: res.statusCode ?? 0, socket, headers: res.headers }))
          .on('error', reject)
          .end();
      });
    const denied = await connect();
    expect(denied.status).toBe(407);
    denied.socket.destroy();
    const ok = await connect(`Bearer ${CLIENT_TOKEN}`);
    expect(ok.status).toBe(200);
    ok.socket.end('through CONNECT');
    expect((await readAll(ok.socket)).toString()).toBe('through CONNECT');
    const refusedPort = await new Promise<number>((r) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => r(p));
      });
    });
    const refused = await new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      http
        .request({
          host,
          port: Number(port),
          method: 'CONNECT',
          path: `127.0.0.1:${refusedPort}`,
          headers: { 'proxy-authorization': `Bearer ${CLIENT_TOKEN}` },
        })
        .on('connect', (res, socket) => {
          socket.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers });
        })
        .on('error', reject)
        .end();
    });
    expect(refused.status).toBe(502);
    expect(refused.headers['x-spoke-error-code']).toBe('ERR_DIAL_REFUSED');
  });

  // Regression: a CONNECT client that gave up while the hub was dialling left the agent's dial open.
  it('cancels the agent-side dial when a CONNECT client goes away before the tunnel is up', async () => {
    const { hub: front } = await startConnectFront();
    const hanging = await createHangingTarget();
    cleanups.push(() => hanging.close());
    const [host, port] = (front.connectAddress as string).split(':');
    const client = net.connect({ host, port: Number(port) });
    client.on('error', () => {});
    client.write(`CONNECT ${hanging.target.host}:${hanging.target.port} HTTP/1.1\r\nProxy-Authorization: Bearer ${CLIENT_TOKEN}\r\n\r\n`);
    await waitFor(() => (front.agents()[0]?.streams ?? 0) === 1, 'the agent to start dialling');
    client.destroy();
    await waitFor(() => front.agents()[0]?.streams === 0, 'the agent-side dial to be cancelled');
  });

  it('exposes /healthz on its port and Prometheus text through metrics()', async () => {
    const { hub, agent } = await startPair();
    track(hub);
    track(agent);
    const s = await hub.dial(await echoTarget());
    s.end('x');
    await readAll(s);
    await hub.dial('127.0.0.1:1').catch(() => {});
    const base = hub.url.replace('wss', 'https');
    expect((await fetchWithCa(`${base}/healthz`, hub.certificate as string)).status).toBe(200);
    const m = hub.metrics();
    expect(m).toContain('spoke_hub_agents 1');
    expect(m).toMatch(/spoke_hub_dial_duration_seconds_count \d+/);
    expect(m).toContain('spoke_hub_dial_failures_total{code="ERR_DIAL_REFUSED"} 1');
  });

  it('HA: an agent keeps one session to every hub (a list of URLs, and hubCount behind one address)', async () => {
    const ca = createCertificateAuthority({ commonName: 'ha CA' });
    const cert = ca.issue({ commonName: 'hub', altNames: ['127.0.0.1'], usages: ['server'] });
    const h1 = track(await createHub({ id: 'hub-1', hubCount: 2, agentTokens: [AGENT_TOKEN], tls: cert, session: fast }));
    const h2 = track(await createHub({ id: 'hub-2', hubCount: 2, agentTokens: [AGENT_TOKEN], tls: cert, session: fast }));
    const listed = track(
      createAgent({ hub: [h1.url, h2.url], id: 'listed', allow: [], token: AGENT_TOKEN, tls: { ca: ca.cert }, session: fast }),
    );
    await listed.waitConnected(2, { signal: AbortSignal.timeout(10_000) });
    expect(listed.connectedHubs().sort()).toEqual(['hub-1', 'hub-2']);

    // A round-robin TCP "load balancer" in front of both hubs.
    const ports = [h1, h2].map((h) => Number(new URL(h.url).port));
    let next = 0;
    const lb = net.createServer((c) => {
      const up = net.connect({ host: '127.0.0.1', port: ports[next++ % 2] as number });
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => lb.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => lb.close(r)));
    const behindLb = track(
      createAgent({
        hub: `wss://127.0.0.1:${(lb.address() as net.AddressInfo).port}`,
        id: 'lb',
        allow: [],
        token: AGENT_TOKEN,
        tls: { ca: ca.cert },
        backoff: { initialDelayMs: 10, maxDelayMs: 50 },
        session: fast,
      }),
    );
    await behindLb.waitConnected(2, { signal: AbortSignal.timeout(10_000) });
    expect(behindLb.connectedHubs().sort()).toEqual(['hub-1', 'hub-2']);
  });

  it('close() drains the agent: the hub sees it draining, open streams finish', async () => {
    const { hub, agent } = await startPair();
    track(hub);
    const s = await hub.dial(await echoTarget());
    const closing = agent.close();
    await waitFor(() => hub.agents()[0]?.draining === true || hub.agents().length === 0, 'the hub to see the agent drain');
    s.end('last words');
    expect((await readAll(s)).toString()).toBe('last words');
    await closing;
  });
});
