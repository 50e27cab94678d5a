/**
 * kube-apiserver's `EgressSelectorConfiguration` (`--egress-selector-config-file`),
 * as served in `apiserver.k8s.io/v1beta1` and `apiserver.k8s.io/v1alpha1`
 * (both versions have the same fields). Field names are the YAML/JSON names.
 * Types only: dialer-tls loads and validates the file, and each backend that
 * serves a proxy protocol takes an {@link EgressConnection}.
 */

/** The API versions kube-apiserver accepts for this kind. */
export const EGRESS_API_VERSIONS = ['apiserver.k8s.io/v1beta1', 'apiserver.k8s.io/v1alpha1'] as const;

/** Names of the traffic classes, after `master` was rewritten to `controlplane`. */
export const EGRESS_SELECTION_NAMES = ['cluster', 'controlplane', 'etcd'] as const;

/** The proxy protocols kube-apiserver knows. */
export const PROXY_PROTOCOLS = ['Direct', 'HTTPConnect', 'GRPC'] as const;

/** `cluster` (kubelets, pods, services, webhooks by service), `controlplane` (webhooks by URL, authn/authz/audit) or `etcd`. */
export type EgressSelectionName = (typeof EGRESS_SELECTION_NAMES)[number];

/** How a selection's traffic leaves the API server. */
export type ProxyProtocol = (typeof PROXY_PROTOCOLS)[number];

/** TLS to the proxy; every value is a file path (resolved to an absolute path when loaded). */
export interface EgressTlsConfig {
  /** CA bundle that signed the proxy's certificate; empty means the system roots. */
  caBundle?: string;
  /** Client certificate presented to the proxy (required for https). */
  clientCert?: string;
  /** Its private key (required for https). */
  clientKey?: string;
  /** Name checked in the proxy's certificate; empty means the URL's host. */
  tlsServerName?: string;
}

/** A proxy reached over TCP. */
export interface EgressTcpTransport {
  /** `https://host:port` (or `http://host:port`); only host and port are used. */
  url: string;
  /** Required with https, forbidden with http. */
  tlsConfig?: EgressTlsConfig;
}

/** A proxy reached over a unix socket. */
export interface EgressUdsTransport {
  /** Socket path (no `unix://` prefix). */
  udsName: string;
}

/** Where the proxy is: exactly one of `tcp` or `uds` (GRPC: `uds` only). */
export interface EgressTransport {
  tcp?: EgressTcpTransport;
  uds?: EgressUdsTransport;
}

/** How one selection connects. */
export interface EgressConnection {
  proxyProtocol: ProxyProtocol;
  /** Absent for Direct; required for HTTPConnect and GRPC. */
  transport?: EgressTransport;
}

/** One traffic class and how it egresses. */
export interface EgressSelection {
  name: EgressSelectionName;
  connection: EgressConnection;
}

/** A loaded and validated configuration. */
export interface EgressSelectorConfiguration {
  apiVersion: (typeof EGRESS_API_VERSIONS)[number];
  kind: 'EgressSelectorConfiguration';
  egressSelections: EgressSelection[];
}
