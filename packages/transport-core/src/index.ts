/**
 * `@spoke/transport-core`: the contracts every spoke backend implements (Dialer,
 * Tunnel, Target, SpokeError), the direct net dialer, an in-memory dialer for
 * tests, decorators (timeout, retry, hooks, diagnostics), adapters that put any
 * Dialer under Node's http/https, undici and ws, and a small X.509 issuer.
 *
 * @example
 * ```ts
 * import { createNetDialer, withRetry, compose } from '@spoke/transport-core';
 * const dialer = compose(createNetDialer(), withRetry({ retries: 2 }));
 * const socket = await dialer.dial('127.0.0.1:8080', { signal: AbortSignal.timeout(5000) });
 * ```
 * @module index
 */
export {
  SpokeError,
  isSpokeError,
  abortError,
  abortReasonAsError,
  asError,
  isAbortError,
  dialerClosedError,
  RETRYABLE_CODES,
  SPOKE_ERROR_CODES,
} from './errors.js';
export type { SpokeErrorCode, SpokeErrorInit, AbortError } from './errors.js';
export { parseTarget, formatTarget, isUnixTarget, isLoopbackHost } from './target.js';
export type { Target, TcpTarget, UnixTarget } from './target.js';
export { isDialer } from './dialer.js';
export type { Dialer, DialOptions, Tunnel, TunnelState, ViaOption, DialerDecorator } from './dialer.js';
export { runDial, dialTarget, checkTimeout, abortReasonToError, deadlineSignal } from './dial-scope.js';
export type { DialInfo } from './dial-scope.js';
export { createNetDialer, viaOrDirect, SpokeSocket } from './net-dialer.js';
export type { NetDialerOptions } from './net-dialer.js';
export { createMemoryDialer } from './memory-dialer.js';
export type { MemoryDialer, MemoryListenOptions } from './memory-dialer.js';
export { createDuplexPair, MemoryStream } from './memory-stream.js';
export { SocketLikeDuplex } from './socket-like.js';
export { splice } from './splice.js';
export type { DuplexPairOptions } from './memory-stream.js';
export { createBackoff, backoffDelay } from './backoff.js';
export type { Backoff, BackoffOptions } from './backoff.js';
export { withTimeout } from './decorators/with-timeout.js';
export { withRetry } from './decorators/with-retry.js';
export type { RetryOptions } from './decorators/with-retry.js';
export { withHooks, withDiagnostics, DIAL_CHANNELS } from './decorators/with-hooks.js';
export type { DialHooks, DialStartEvent, DialConnectedEvent, DialErrorEvent } from './decorators/with-hooks.js';
export { compose } from './decorators/compose.js';
export { connectTls, tlsErrorToSpoke } from './tls-connect.js';
export { spkiPin, certFingerprint } from './fingerprint.js';
export type { TlsClientOptions, TlsPeer } from './tls-connect.js';
export { createHttpAgent, createHttpsAgent } from './adapters/http-agent.js';
export { createUndiciConnect } from './adapters/undici-connect.js';
export type { UndiciConnectOptions, UndiciConnectCallback, UndiciConnectTlsOptions } from './adapters/undici-connect.js';
export { createWsConnection } from './adapters/ws-connection.js';
export { createDialerRegistry, tcpScheme, badUri, redactUri, readUriFile } from './dialer-uri.js';
export type { DialerRegistry, DialerScheme, SchemeContext } from './dialer-uri.js';
export { Session, createSession, sessionOverStream } from './mux/session.js';
export type { SessionOptions, SessionStats, PeerHello, IncomingDial } from './mux/session.js';
export { SessionStream } from './mux/session-stream.js';
export type { FrameCarrier, CarrierHandlers } from './mux/carrier.js';
export { createStreamCarrier } from './mux/stream-carrier.js';
export { encodeFrame, decodeFrame, encodeDataHeader, DATA_HEADER_BYTES } from './mux/codec.js';
export { LengthPrefixedReader, lengthPrefix } from './mux/length-prefix.js';
export { FrameType, LIMITS, PROTOCOL_VERSIONS, frameLimit } from './mux/frame.js';
export type { Frame, SessionRole } from './mux/frame.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger, LoggerOptions, LogLevel, LogFields } from './logger.js';
export { createMetricsRegistry } from './metrics.js';
export { onAbort, raceSignal } from './abort.js';
export { readExactly, readUntil } from './read-until.js';
export type { ReadHeadOptions } from './read-until.js';
export { httpStatusFor, httpErrorResponse, rawHttpError, HTTP_STATUS_TEXT } from './http-error.js';
export type { HttpErrorResponse } from './http-error.js';
export { serveHealth } from './health.js';
export type { HealthEndpoints, Readiness } from './health.js';
export { parseDuration } from './duration.js';
export { parseCidr, cidrContains, normaliseIp } from './cidr.js';
export type { Cidr } from './cidr.js';
export { createAllowList, parseAllowRule } from './allow-list.js';
export { UsageRef } from './usage-ref.js';
export type { Refable } from './usage-ref.js';
export { listen } from './listen.js';
export type { ListenAt } from './listen.js';
export { HOP_BY_HOP_HEADERS, endToEndHeaders, endToEndRawHeaders } from './http-headers.js';
export type { AllowList, AllowRule, AllowListOptions } from './allow-list.js';
export { parseAgentIdentifiers } from './identifiers.js';
export type { AgentIdentifiers } from './identifiers.js';
export type { MetricsRegistry, Counter, Gauge, Histogram } from './metrics.js';
// Shared by the backends that read kube-apiserver's egress configuration (dialer-tls, dialer-konnectivity).
export { EGRESS_API_VERSIONS, EGRESS_SELECTION_NAMES, PROXY_PROTOCOLS } from './egress-types.js';
export type {
  EgressSelectorConfiguration,
  EgressSelection,
  EgressSelectionName,
  EgressConnection,
  EgressTransport,
  EgressTcpTransport,
  EgressUdsTransport,
  EgressTlsConfig,
  ProxyProtocol,
} from './egress-types.js';
export {
  httpConnectClient,
  connectRequestHead,
  parseConnectResponseHead,
  MAX_CONNECT_HEAD_BYTES,
  MAX_CONNECT_BODY_BYTES,
} from './http-connect-client.js';
export type { HttpConnectClientOptions, HttpConnectResult, ConnectResponse, ParsedConnectHead } from './http-connect-client.js';
