import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SpokeError, createLogger, type Logger } from '@spoke/transport-core';
import { createCertificateAuthority, type CertificateAuthority } from '@spoke/transport-core/pki';
import { createAgent, createHub, createSpokeDialer, type Agent, type AgentOptions, type Hub, type HubOptions } from '@spoke/hub';

// Issue 17 #4 (a CA per role; an agent certificate binds its id) and #5 (tokens bound to agent
// ids; an id held by one credential is not taken over by another), with real TLS, WSS and agents.

const fast = { keepaliveMs: 1_000, idleTimeoutMs: 30_000 };

/** Log lines kept as text, with a wait for the first line that contains some words. */
function logSink(): { logger: Logger; lines: string[]; waitFor(...words: string[]): Promise<string> } {
  const lines: string[] = [];
  const added = new EventEmitter();
  const logger = createLogger({
    level: 'debug',
    write: (line) => {
      lines.push(line);
      added.emit('line', line);
    },
  });
  const matches = (line: string, words: string[]): boolean => words.every((w) => line.includes(w));
  return {
    logger,
    lines,
    async waitFor(...words) {
      const seen = lines.find((l) => matches(l, words));
      if (seen !== undefined) return seen;
      const signal = AbortSignal.timeout(10_000);
      for (;;) {
        const [line] = (await once(added, 'line', { signal })) as [string];
        if (matches(line, words)) return line;
      }
    },
  };
}

/** A loopback TCP echo server. */
async function echoServer(): Promise<{ target: string; close(): void }> {
  const server = net.createServer((s) => s.on('error', () => s.destroy()).pipe(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return { target: `127.0.0.1:${port}`, close: () => server.close() };
}

async function expectEcho(stream: Duplex, text: string): Promise<void> {
  stream.write(text);
  const [chunk] = (await once(stream, 'data')) as [Buffer];
  expect(chunk.toString()).toBe(text);
  stream.destroy();
}

describe('hub identities (issue 17 #4, #5)', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const hubCa = createCertificateAuthority({ commonName: 'hub serving CA' });
  const serving = hubCa.issue({ commonName: 'hub', altNames: ['127.0.0.1', 'localhost'], usages: ['server'] });

  async function startHub(options: Partial<HubOptions>): Promise<{ hub: Hub; log: ReturnType<typeof logSink> }> {
    const log = logSink();
    const hub = await createHub({ tls: { cert: serving.cert, key: serving.key }, session: fast, logger: log.logger, ...options });
    cleanups.push(() => hub.destroy());
    return { hub, log };
  }

  function startAgent(hub: Hub, extra: Partial<AgentOptions> & { id: string }): { agent: Agent; log: ReturnType<typeof logSink> } {
    const log = logSink();
    const agent = createAgent({
      hub: hub.url,
      allow: ['127.0.0.1/32'],
      session: fast,
      logger: log.logger,
      backoff: { initialDelayMs: 50, maxDelayMs: 200 },
      ...extra,
      tls: { ca: hubCa.cert, ...extra.tls },
    });
    cleanups.push(() => agent.destroy());
    return { agent, log };
  }

  function certOf(ca: CertificateAuthority, commonName: string): { cert: string; key: string } {
    const { cert, key } = ca.issue({ commonName, usages: ['client'] });
    return { cert, key };
  }

  /** The real node-1, connected; resolves with its agent and its address as the hub sees it. */
  async function startNode1(hub: Hub, auth: Partial<AgentOptions>): Promise<{ agent: Agent; remote: string }> {
    const { agent } = startAgent(hub, { id: 'node-1', ...auth });
    await agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });
    return { agent, remote: hub.agents()[0]?.remote as string };
  }

  /** An agent announcing node-1 that the hub refuses: resolves with its log line (ERR_AUTH_FAILED) and stops it. */
  async function refusedNode1(hub: Hub, auth: Partial<AgentOptions>): Promise<string> {
    const rogue = startAgent(hub, { id: 'node-1', allow: [], ...auth });
    const line = await rogue.log.waitFor('cannot reach hub');
    rogue.agent.destroy();
    expect(line).toContain('ERR_AUTH_FAILED');
    return line;
  }

  /** The real node-1 stays connected and keeps serving: a dial reaches the echo server through it. */
  async function expectServedBy(hub: Hub, agent: Agent, remote: string): Promise<void> {
    expect(agent.connectedHubs()).toHaveLength(1);
    expect(hub.agents().map((a) => [a.id, a.remote])).toEqual([['node-1', remote]]);
    const echo = await echoServer();
    cleanups.push(() => echo.close());
    await expectEcho(await hub.dial(echo.target, { signal: AbortSignal.timeout(5_000) }), 'still node-1');
  }

  it('agentCa and clientCa are separate roles: each certificate is refused (401, ERR_AUTH_FAILED) on the other path', async () => {
    const agentCa = createCertificateAuthority({ commonName: 'agents CA' });
    const clientCa = createCertificateAuthority({ commonName: 'clients CA' });
    const { hub, log } = await startHub({ agentCa: agentCa.cert, clientCa: clientCa.cert });

    const real = await startNode1(hub, { tls: certOf(agentCa, 'node-1') });

    // A client's certificate does not register as an agent (it would take over node-1's traffic).
    await refusedNode1(hub, { tls: certOf(clientCa, 'node-1') });
    expect(await log.waitFor('refused agent', 'client CA')).not.toContain('BEGIN');

    // An agent's certificate does not dial through the hub as a client.
    const asClient = createSpokeDialer({ url: hub.url, tls: { ca: hubCa.cert, ...certOf(agentCa, 'node-1') } });
    cleanups.push(() => asClient.close?.());
    const err = await asClient.dial('127.0.0.1:1', { signal: AbortSignal.timeout(5_000) }).catch((e: unknown) => e);
    expect((err as SpokeError).code).toBe('ERR_AUTH_FAILED');
    await log.waitFor('refused client', 'agent CA');

    // A client's certificate still works as a client; node-1 was never replaced.
    const client = createSpokeDialer({ url: hub.url, tls: { ca: hubCa.cert, ...certOf(clientCa, 'ops') } });
    cleanups.push(() => client.close?.());
    const echo = await echoServer();
    cleanups.push(() => echo.close());
    await expectEcho(await client.dial(echo.target, { signal: AbortSignal.timeout(5_000) }), 'client by certificate');
    await expectServedBy(hub, real.agent, real.remote);
  });

  it('clientCa alone authenticates no agent: a client certificate on /v1/agent is refused', async () => {
    const clientCa = createCertificateAuthority({ commonName: 'clients CA' });
    const { hub, log } = await startHub({ clientCa: clientCa.cert, agentTokens: ['agent-token-1'] });
    await refusedNode1(hub, { tls: certOf(clientCa, 'node-1') });
    await log.waitFor('refused agent');
    expect(hub.agents()).toEqual([]);
  });

  it('an agent certificate announces only its CN: another id is refused with ERR_AUTH_FAILED naming both', async () => {
    const agentCa = createCertificateAuthority({ commonName: 'agents CA' });
    const { hub, log } = await startHub({ agentCa: agentCa.cert });
    const real = await startNode1(hub, { tls: certOf(agentCa, 'node-1') });

    const refused = await refusedNode1(hub, { tls: certOf(agentCa, 'node-2') });
    expect(refused).toContain('node-1');
    expect(refused).toContain('node-2');
    await log.waitFor('refused agent id', 'CN=node-2');
    await expectServedBy(hub, real.agent, real.remote);
  });

  it('a token bound to an id announces only that id; an id bound to a token is not announced with a shared one', async () => {
    const { hub, log } = await startHub({
      agentTokens: [{ token: 'token-of-node-1', id: 'node-1' }, { token: 'token-of-node-2', id: 'node-2' }, 'shared-token'],
    });
    const real = await startNode1(hub, { token: 'token-of-node-1' });
    expect(await refusedNode1(hub, { token: 'token-of-node-2' })).toMatch(/node-1.*node-2/);
    await refusedNode1(hub, { token: 'shared-token' });

    // Logged with the credential's description, never the token.
    await log.waitFor('refused agent id', 'token bound to node-2');
    expect(log.lines.join('')).not.toMatch(/token-of-node|shared-token/);
    await expectServedBy(hub, real.agent, real.remote);
  });

  it('an id connected with one token is refused to another token instead of evicting the live agent', async () => {
    const { hub, log } = await startHub({ agentTokens: ['token-a', 'token-b'] });
    const real = await startNode1(hub, { token: 'token-a' });
    let lost = 0;
    real.agent.on('disconnected', () => (lost += 1));

    expect(await refusedNode1(hub, { token: 'token-b' })).toContain('another credential');
    await log.waitFor('refused agent id', 'token #2');
    expect(lost).toBe(0);
    await expectServedBy(hub, real.agent, real.remote);
  });

  it('the same credential reconnecting still replaces its own older session', async () => {
    const { hub } = await startHub({ agentTokens: [{ token: 'token-of-node-1', id: 'node-1' }] });
    const first = startAgent(hub, { id: 'node-1', token: 'token-of-node-1' });
    await first.agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });
    const replaced = once(first.agent, 'disconnected');
    const second = startAgent(hub, { id: 'node-1', token: 'token-of-node-1' });
    await second.agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });
    await replaced;
    first.agent.destroy();
    expect(hub.agents().map((a) => a.id)).toEqual(['node-1']);
  });

  it('refuses options that would blur roles or bindings (ERR_BAD_OPTION)', async () => {
    const ca = createCertificateAuthority({ commonName: 'one CA' });
    const refusal = (options: HubOptions): Promise<unknown> =>
      createHub(options).then(
        (hub) => hub.destroy(),
        (e: unknown) => e,
      );
    for (const options of [
      { agentCa: ca.cert, clientCa: ca.cert },
      { clientCa: ca.cert },
      { agentTokens: ['same', { token: 'same', id: 'node-1' }] },
      { agentTokens: [{ token: 'x', id: '' }] },
    ] satisfies HubOptions[]) {
      const err = await refusal(options);
      expect(err, JSON.stringify(Object.keys(options))).toBeInstanceOf(SpokeError);
      expect((err as SpokeError).code).toBe('ERR_BAD_OPTION');
    }
  });
});
