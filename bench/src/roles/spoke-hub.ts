import { createAgent, createHub } from '@spoke/hub';
import type { Role } from './role.js';

/** A spoke hub on 127.0.0.1 with its own self-signed TLS certificate and bearer tokens for agents and clients. */
export async function startSpokeHub(args: Record<string, unknown>): Promise<Role> {
  const token = String(args['token']);
  const hub = await createHub({ listen: { host: '127.0.0.1', port: 0 }, agentTokens: [token], clientTokens: [token] });
  return {
    info: { url: hub.url, fingerprint: hub.fingerprint ?? '' },
    commands: { agents: () => hub.agents().length },
    close: () => hub.destroy(),
  };
}

/** A spoke agent connected out to the hub (fingerprint pinned), allowed to dial loopback only. */
export async function startSpokeAgent(args: Record<string, unknown>): Promise<Role> {
  const agent = createAgent({
    hub: String(args['url']),
    id: 'bench-agent',
    allow: ['127.0.0.1/32'],
    token: String(args['token']),
    tls: { fingerprint: String(args['fingerprint']) },
  });
  await agent.waitConnected(1, { signal: AbortSignal.timeout(20_000) });
  return { info: {}, commands: {}, close: () => agent.destroy() };
}
