/**
 * `@spoke/dialer-konnectivity`: a Konnectivity (kubernetes-sigs/apiserver-network-proxy) client, agent and
 * server that speak the upstream wire protocol, with the per-connection backpressure upstream lacks.
 *
 * @example
 * ```ts
 * import { createKonnectivityDialer } from '@spoke/dialer-konnectivity';
 * const dialer = createKonnectivityDialer({ mode: 'grpc', uds: '/run/konnectivity/server.sock' });
 * const socket = await dialer.dial('10.0.0.5:10250', { signal: AbortSignal.timeout(5000) });
 * ```
 * @packageDocumentation
 */
export { createKonnectivityDialer } from './konnectivity-dialer.js';
export type { KonnectivityDialerOptions, KonnectivityTlsOptions } from './konnectivity-dialer.js';
export { codeForDialError } from './errors.js';
export { createKonnectivityAgent } from './agent/konnectivity-agent.js';
export type { KonnectivityAgent, KonnectivityAgentOptions } from './agent/konnectivity-agent.js';
// The agent's identifier parser and allow list are transport-core's, re-exported under their old names here.
export { parseAgentIdentifiers, createAllowList } from '@spoke/transport-core/utils';
export type { AgentIdentifiers, AllowList } from '@spoke/transport-core/utils';
export { konnectivityScheme, konnectivityEgressBackend } from './scheme.js';
export type { EgressConnection } from '@spoke/transport-core/egress';
export { createKonnectivityServer } from './server/konnectivity-server.js';
export type { KonnectivityServer, KonnectivityServerOptions } from './server/konnectivity-server.js';
export { createKonnectivityFrontEnd } from './server/front-end.js';
export type { KonnectivityFrontEnd, KonnectivityFrontEndOptions } from './server/front-end.js';
export type { ProxyStrategy } from './server/backends.js';
export type { TokenReviewOptions } from './server/token-review.js';
export { parseServerFlags, parseAgentFlags } from './flags.js';
/** Go's duration syntax (`1m30s`), as upstream's flags take it: transport-core's parseDuration under its old name. */
export { parseDuration as parseGoDuration } from '@spoke/transport-core/utils';
export type { ParsedFlags } from './flags.js';
