/**
 * `@spoke/app-node`: a kubelet-shaped sample node. HTTPS with required client
 * certificates, `/healthz`, `/pods`, `/containerLogs`, `/exec` and `/attach`
 * over WebSocket channels and SPDY/3.1, `/portForward` over SPDY/3.1 (plain or tunnelled in
 * a WebSocket) and the legacy WebSocket channels. Its pods are local
 * processes, files and HTTP servers described in a config.
 *
 * @example
 * ```ts
 * import { createNode } from '@spoke/app-node';
 * const node = await createNode({ name: 'node-a', tls: { cert, key, clientCa }, pods: [] }, { signal: AbortSignal.timeout(5000) });
 * await node.close();
 * ```
 * @packageDocumentation
 */
export { createNode } from './node.js';
export type { KubeletNode, NodeStats } from './node.js';
export { loadNodeConfig } from './config.js';
export type { NodeConfig, PodConfig, ContainerConfig, ContainerPortConfig } from './config.js';
export { PodRuntime, iso } from './runtime.js';
export type { Pod, Container } from './runtime.js';
export { parseRoute } from './routes.js';
export type { Route } from './routes.js';
export { REMOTE_COMMAND_PROTOCOLS, PORT_FORWARD_CHANNEL_PROTOCOLS, SPDY_TUNNEL_PROTOCOL, Channel } from './channels.js';
export { exitStatus } from './remote-command.js';
export type { CommandStatus } from './remote-command.js';
export { REMOTE_COMMAND_SPDY_PROTOCOLS, DEFAULT_STREAM_CREATION_TIMEOUT_MS } from './remote-command-spdy.js';
export { SpdyServerSession, SpdyStream } from './spdy/session.js';
export type { SpdySessionHandlers } from './spdy/session.js';
export { SPDY3_DICTIONARY } from './spdy/dictionary.js';
