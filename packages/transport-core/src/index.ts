/**
 * `@spoke/transport-core`: the contracts every spoke backend implements (Dialer,
 * Tunnel, Target, SpokeError), the dial helpers, the direct net dialer, an
 * in-memory dialer for tests, decorators (timeout, retry, hooks, diagnostics),
 * adapters that put any Dialer under Node's http/https, undici and ws, TLS with
 * verification errors that name the certificate, dialer URIs, and spoke/1
 * sessions over any byte stream.
 *
 * More entry points: `@spoke/transport-core/protocol` (the spoke/1 codec and
 * carriers), `@spoke/transport-core/utils` (building blocks backends and
 * servers share), `@spoke/transport-core/egress` (kube-apiserver's egress
 * selector types), `@spoke/transport-core/pki` (a small X.509 issuer) and
 * `@spoke/transport-core/testing` (the compliance suite).
 *
 * @example
 * ```ts
 * import { createNetDialer, withRetry, compose } from '@spoke/transport-core';
 * const dialer = compose(createNetDialer(), withRetry({ retries: 2 }));
 * const socket = await dialer.dial('127.0.0.1:8080', { signal: AbortSignal.timeout(5000) });
 * ```
 * @module index
 */
export { SpokeError, isSpokeError, abortError, isAbortError, dialerClosedError, RETRYABLE_CODES, SPOKE_ERROR_CODES } from './errors.js';
export type { SpokeErrorCode, SpokeErrorInit, AbortError } from './errors.js';
export { parseTarget, formatTarget, isUnixTarget, isLoopbackHost } from './target.js';
export type { Target, TcpTarget, UnixTarget } from './target.js';
export { isDialer } from './dialer.js';
export type { Dialer, DialOptions, Tunnel, TunnelState, ViaOption, DialerDecorator } from './dialer.js';
export { runDial, dialTarget } from './dial-scope.js';
export type { DialInfo } from './dial-scope.js';
export { createNetDialer, viaOrDirect, SpokeSocket } from './net-dialer.js';
export type { NetDialerOptions } from './net-dialer.js';
export { createMemoryDialer } from './memory-dialer.js';
export type { MemoryDialer, MemoryListenOptions } from './memory-dialer.js';
export { createDuplexPair } from './memory-stream.js';
export type { DuplexPairOptions } from './memory-stream.js';
export { withTimeout } from './decorators/with-timeout.js';
export { withRetry } from './decorators/with-retry.js';
export type { RetryOptions } from './decorators/with-retry.js';
export { withHooks, withDiagnostics, DIAL_CHANNELS } from './decorators/with-hooks.js';
export type { DialHooks, DialStartEvent, DialConnectedEvent, DialErrorEvent } from './decorators/with-hooks.js';
export { compose } from './decorators/compose.js';
export { connectTls } from './tls-connect.js';
export type { TlsClientOptions, TlsPeer } from './tls-connect.js';
export { spkiPin, certFingerprint } from './fingerprint.js';
export { createHttpAgent, createHttpsAgent } from './adapters/http-agent.js';
export { createUndiciConnect } from './adapters/undici-connect.js';
export type { UndiciConnectOptions, UndiciConnectCallback, UndiciConnectTlsOptions } from './adapters/undici-connect.js';
export { createWsConnection } from './adapters/ws-connection.js';
export { createDialerRegistry, tcpScheme, badUri, redactUri, readUriFile } from './dialer-uri.js';
export type { DialerRegistry, DialerScheme, SchemeContext } from './dialer-uri.js';
export { Session, createSession, sessionOverStream } from './mux/session.js';
export type { SessionOptions, SessionStats, PeerHello, IncomingDial, IncomingListen } from './mux/session.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger, LoggerOptions, LogLevel, LogFields } from './logger.js';
