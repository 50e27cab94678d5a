import { createAgent, createHub, type Agent, type AgentOptions, type Hub, type HubOptions } from '@spoke/hub';

/** The tokens a test hub takes from agents and from clients. */
export interface TestTokens {
  agent: string;
  client: string;
}

/** An agent of `hub` as the tests run it: id node-1, loopback targets only, the hub's certificate pinned. */
export function agentOf(hub: Hub, token: string, extra: Partial<AgentOptions> = {}): Agent {
  return createAgent({
    hub: hub.url,
    id: 'node-1',
    allow: ['127.0.0.1/32'],
    token,
    tls: { fingerprint: hub.fingerprint as string },
    ...extra,
  });
}

/**
 * A hub on loopback with one agent connected to it ({@link agentOf}). Both are the caller's to
 * destroy; if the agent does not connect within 10 s both are destroyed and the wait's error thrown.
 */
export async function startHubAndAgent(
  tokens: TestTokens,
  hubExtra: Partial<HubOptions> = {},
  agentExtra: Partial<AgentOptions> = {},
): Promise<{ hub: Hub; agent: Agent }> {
  const hub = await createHub({ agentTokens: [tokens.agent], clientTokens: [tokens.client], ...hubExtra });
  const agent = agentOf(hub, tokens.agent, agentExtra);
  try {
    await agent.waitConnected(1, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    agent.destroy();
    hub.destroy();
    throw err;
  }
  return { hub, agent };
}
