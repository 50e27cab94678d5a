/**
 * `@spoke/transport-core/utils`: the building blocks spoke's backends, CLI and
 * servers share, written once: cancellation (`onAbort`, `raceSignal`,
 * deadlines), bounded reads of handshake heads, an HTTP CONNECT client, the
 * HTTP answer for a failed dial, health and Prometheus endpoints, listening,
 * allow lists, CIDRs, agent identifiers, durations, backoff, and keeping idle
 * pooled connections from holding the process open.
 *
 * @module utils
 */
export { onAbort } from './abort.js';
export { checkSecretFile } from './dialer-uri.js';
export { abortReasonAsError, asError } from './errors.js';
export { checkTimeout, abortReasonToError, deadlineSignal, raceSignal } from './dial-scope.js';
export { readExactly, readUntil } from './read-until.js';
export type { ReadHeadOptions } from './read-until.js';
export {
  httpConnectClient,
  connectRequestHead,
  parseConnectResponseHead,
  MAX_CONNECT_HEAD_BYTES,
  MAX_CONNECT_BODY_BYTES,
} from './http-connect-client.js';
export type { HttpConnectClientOptions, HttpConnectResult, ConnectResponse, ParsedConnectHead } from './http-connect-client.js';
export { httpStatusFor, httpErrorResponse, rawHttpError, HTTP_STATUS_TEXT } from './http-error.js';
export type { HttpErrorResponse } from './http-error.js';
export { HOP_BY_HOP_HEADERS, endToEndHeaders, endToEndRawHeaders } from './http-headers.js';
export { serveHealth } from './health.js';
export type { HealthEndpoints, Readiness } from './health.js';
export { createMetricsRegistry } from './metrics.js';
export type { MetricsRegistry, Counter, Gauge, Histogram } from './metrics.js';
export { listen } from './listen.js';
export type { ListenAt } from './listen.js';
export { claimSocketPath } from './socket-path.js';
export { createAllowList, parseAllowRule } from './allow-list.js';
export type { AllowList, AllowRule, AllowListOptions } from './allow-list.js';
export { parseCidr, cidrContains, normaliseIp } from './cidr.js';
export type { Cidr } from './cidr.js';
export { parseAgentIdentifiers } from './identifiers.js';
export type { AgentIdentifiers } from './identifiers.js';
export { parseDuration } from './duration.js';
export { createBackoff, backoffDelay } from './backoff.js';
export type { Backoff, BackoffOptions } from './backoff.js';
export { UsageRef } from './usage-ref.js';
export type { Refable } from './usage-ref.js';
export { splice } from './splice.js';
export { SocketLikeDuplex } from './socket-like.js';
export { MemoryStream } from './memory-stream.js';
export { tlsErrorToSpoke, isClientCertRefusal } from './tls-connect.js';
