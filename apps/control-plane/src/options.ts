import type { Dialer, Logger } from '@spoke/transport-core';
import type { EgressBackends, EgressSelectorConfiguration } from '@spoke/dialer-tls';
import type { EgressLabels } from './metrics.js';
import type { NodeAddress } from './node-access.js';

/** A node the control plane knows (what `kubectl get nodes` lists). */
export interface ControlPlaneNode {
  name: string;
  /** `status.addresses`; the preferred types pick the one dialled. */
  addresses: NodeAddress[];
  /** The kubelet's HTTPS port (`daemonEndpoints.kubeletEndpoint.Port`). */
  kubeletPort: number;
  labels?: Record<string, string>;
  /**
   * Overrides the egress `cluster` dialer for this node only (a demo whose
   * nodes share 127.0.0.1 but are reached by different paths).
   */
  dialer?: Dialer;
  /** Metric labels for `dialer`. Default `{ protocol: dialer.kind, transport: 'tcp' }`. */
  dialerLabels?: EgressLabels;
  /** Shown in the wide node table's Egress column (e.g. `ssh`). */
  egressLabel?: string;
}

/** A service: `selector` picks pods, `ports` map to container ports (number or port name). */
export interface ControlPlaneService {
  namespace?: string;
  name: string;
  selector: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: number | string }>;
}

/** Anything that hands out the egress `cluster` dialer (a custom SSH dialer, a hub...). */
export interface ClusterEgressSelector {
  dialerFor(name: 'cluster'): Dialer;
  close?(): Promise<void>;
}

/** Options of {@link createControlPlane}. PEM material is text. */
export interface ControlPlaneOptions {
  /** Bind address. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 (default) picks one. */
  port?: number;
  /** Serving certificate and key, and the CA client certificates (kubectl's) must chain to. */
  tls: { cert: string; key: string; clientCa: string };
  nodes: ControlPlaneNode[];
  services?: ControlPlaneService[];
  /** An `EgressSelectorConfiguration`: a path, YAML text, or a loaded object. None: everything is direct. */
  egressConfig?: string | EgressSelectorConfiguration;
  /** Backends for the egress selector (e.g. `grpc` from @spoke/dialer-konnectivity). */
  egressBackends?: EgressBackends;
  /** Instead of `egressConfig`: anything with `dialerFor('cluster')` (a custom SSH dialer, a hub...). */
  egressSelector?: ClusterEgressSelector;
  /** Metric labels for a custom `egressSelector`. Default `{ protocol: dialer.kind, transport: 'tcp' }`. */
  egressLabels?: EgressLabels;
  /** `--kubelet-certificate-authority` (PEM). */
  kubeletCa: string;
  /** `--kubelet-client-certificate` / `--kubelet-client-key` (PEM). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  /** `--kubelet-preferred-address-types`. Default Hostname, InternalDNS, InternalIP, ExternalDNS, ExternalIP. */
  preferredAddressTypes?: readonly string[];
  /** `--kubelet-timeout` for dials and short kubelet calls. Default 5000 ms. */
  kubeletTimeoutMs?: number;
  logger?: Logger;
}
