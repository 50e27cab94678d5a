/**
 * `@spoke/hub`: spoke's own reverse tunnel. Agents in the node network dial out
 * to a hub over WebSocket (TLS by default) and carry spoke/1 sessions; clients
 * reach targets behind agents through the hub, in-process, with a
 * `spoke+wss://` dialer, or through the hub's HTTP CONNECT front end.
 *
 * @example
 * ```ts
 * import { createHub, createAgent } from '@spoke/hub';
 * const hub = await createHub({ agentTokens: ['agent-secret'], clientTokens: ['client-secret'] });
 * const agent = createAgent({ hub: hub.url, id: 'node-1', token: 'agent-secret', tls: { fingerprint: hub.fingerprint }, allow: ['127.0.0.1/32'] });
 * await agent.waitConnected(1, { signal: AbortSignal.timeout(5000) });
 * const socket = await hub.dialer().dial('127.0.0.1:8080', { signal: AbortSignal.timeout(5000) });
 * ```
 * @packageDocumentation
 */
export { createHub } from './hub.js';
export type { Hub } from './hub.js';
export type { AgentToken, HubOptions, HubSessionOptions } from './hub-options.js';
export type { HubAgentInfo } from './agent-registry.js';
export { createAgent } from './agent.js';
export type { Agent, AgentOptions } from './agent.js';
export { createSpokeDialer, spokeScheme } from './spoke-client.js';
export type { SpokeDialerOptions } from './spoke-client.js';
export { isSpokeDialer } from './reverse-client.js';
export type { SpokeDialer, ReverseConnect, ReverseConnection, ReverseListener } from './reverse-client.js';
export type { HubReverseOptions } from './reverse-listeners.js';
export { connectToHub } from './hub-connect.js';
export type { HubConnectOptions } from './hub-connect.js';
export { sessionOverWebSocket, createWebSocketCarrier } from './ws-carrier.js';
export type { WebSocketCarrierOptions } from './ws-carrier.js';
