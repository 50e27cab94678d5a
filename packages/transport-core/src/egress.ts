/**
 * `@spoke/transport-core/egress`: kube-apiserver's `EgressSelectorConfiguration`
 * types, shared by the backends that read or serve it (`@spoke/dialer-tls`
 * loads the file; `@spoke/dialer-konnectivity` builds dialers for its GRPC and
 * HTTPConnect entries).
 *
 * @module egress
 */
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
