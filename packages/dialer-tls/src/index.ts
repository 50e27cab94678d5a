/**
 * `@spoke/dialer-tls`: TLS to the target itself (verified by default: CA
 * bundle, host name, validity, SPKI pins, client certificates, files re-read
 * on rotation), HTTP CONNECT through a proxy reached over TCP, TLS or a unix
 * socket, and kube-apiserver's `EgressSelectorConfiguration`.
 *
 * @example
 * ```ts
 * import { createTlsDialer } from '@spoke/dialer-tls';
 * const dialer = createTlsDialer({ caFile: '/etc/kubernetes/pki/kubelet-ca.crt' });
 * const socket = await dialer.dial('10.0.0.5:10250', { signal: AbortSignal.timeout(5000) });
 * ```
 * @packageDocumentation
 */
export { createTlsDialer, INSECURE_WARNING } from './tls-dialer.js';
export type { TlsDialerOptions } from './tls-dialer.js';
export type { TlsOptions } from './tls-material.js';
export { createHttpConnectDialer } from './http-connect-dialer.js';
export type { HttpConnectDialerOptions } from './http-connect-dialer.js';
export { MAX_RESPONSE_HEAD, MAX_ERROR_BODY } from './http-connect.js';
export { ProxyStatusError, proxyFailureCode } from './errors.js';
export type { ProxyAnswer } from './errors.js';
export { loadEgressSelectorConfiguration, parseEgressSelectorConfiguration } from './egress/load.js';
export type { ParseEgressOptions } from './egress/load.js';
export { EgressConfigError } from './egress/config-error.js';
export type { ConfigIssue } from './egress/config-error.js';
export { createEgressSelector, defaultHttpConnectDialer } from './egress/selector.js';
export type { EgressBackends, EgressSelector } from './egress/selector.js';
// The configuration's types live in @spoke/transport-core/egress (shared with the Konnectivity backend); the one this package returns:
export type { EgressSelectorConfiguration } from '@spoke/transport-core/egress';
export { tlsScheme, httpConnectScheme } from './schemes.js';
