import { type Dialer } from '@spoke/transport-core';
import { deadlineSignal } from '@spoke/transport-core/utils';
import { createEgressSelector, loadEgressSelectorConfiguration, type EgressSelectorConfiguration } from '@spoke/dialer-tls';
import type { ProxyTarget } from './http-proxy.js';
import type { EgressLabels, EgressMetrics } from './metrics.js';
import { DEFAULT_PREFERRED_ADDRESS_TYPES, NodeAccess, kubeletGet, preferredAddress } from './node-access.js';
import type { ClusterEgressSelector, ControlPlaneNode, ControlPlaneOptions } from './options.js';

/** The options {@link EgressAccess} reads. */
export type EgressAccessOptions = Pick<
  ControlPlaneOptions,
  | 'egressConfig'
  | 'egressBackends'
  | 'egressSelector'
  | 'egressLabels'
  | 'kubeletCa'
  | 'kubeletClientCert'
  | 'kubeletClientKey'
  | 'preferredAddressTypes'
  | 'kubeletTimeoutMs'
>;

/**
 * How the control plane reaches nodes: the egress selector's `cluster`
 * dialer (or a node's own dialer), counted by the egress metrics, with one
 * {@link NodeAccess} (kubelet TLS, proxy transports, pooled agents) per node,
 * dialled at the address the preferred address types pick.
 */
export class EgressAccess {
  /** `--kubelet-timeout`: bounds dials and short kubelet calls. */
  readonly timeoutMs: number;
  private readonly preferred: readonly string[];
  private readonly selector: ClusterEgressSelector;
  /** The selector is ours to close when we built it from a configuration. */
  private readonly ownSelector: boolean;
  private readonly clusterLabels: EgressLabels | undefined;
  private clusterDialer: Dialer | undefined;
  private readonly access = new Map<string, NodeAccess>();

  constructor(
    private readonly options: EgressAccessOptions,
    private readonly metrics: EgressMetrics,
    /** Aborted when the control plane shuts down. */
    private readonly lifetime: AbortSignal,
  ) {
    this.timeoutMs = options.kubeletTimeoutMs ?? 5000;
    this.preferred = options.preferredAddressTypes ?? DEFAULT_PREFERRED_ADDRESS_TYPES;
    const config = typeof options.egressConfig === 'string' ? loadEgressSelectorConfiguration(options.egressConfig) : options.egressConfig;
    this.ownSelector = options.egressSelector === undefined;
    this.selector = options.egressSelector ?? createEgressSelector(config, options.egressBackends);
    // A caller's selector without egressLabels is labelled by its dialer's kind (see cluster()), as documented.
    this.clusterLabels = options.egressLabels ?? (options.egressSelector ? undefined : labelsFromConfig(config));
  }

  /** A timeout of `timeoutMs` that also ends with the control plane; `clear()` it when done. */
  deadline(): { signal: AbortSignal; clear(): void } {
    return deadlineSignal(this.timeoutMs, this.lifetime);
  }

  /**
   * The path `node` is reached by, for its `spoke.dev/egress` annotation. A caller's selector without
   * labels is known by its dialer's kind once the first dial made that dialer (node reads dial first).
   */
  egressName(node: ControlPlaneNode): string {
    return node.egressLabel ?? node.dialer?.kind ?? this.clusterLabels?.protocol ?? this.clusterDialer?.kind ?? 'direct';
  }

  /** The address `node` is dialled at (throws `ERR_NO_ROUTE` when no address has a preferred type). */
  addressOf(node: ControlPlaneNode): string {
    return preferredAddress(node.name, node.addresses, this.preferred);
  }

  /** The ways to reach `node`, made on first use. */
  accessFor(node: ControlPlaneNode): NodeAccess {
    let a = this.access.get(node.name);
    if (!a) {
      const raw = node.dialer ? this.metrics.instrument(node.dialer, node.dialerLabels ?? defaultLabels(node.dialer)) : this.cluster();
      a = new NodeAccess(
        raw,
        { ca: this.options.kubeletCa, cert: this.options.kubeletClientCert, key: this.options.kubeletClientKey },
        this.timeoutMs,
      );
      this.access.set(node.name, a);
    }
    return a;
  }

  /** GET a kubelet document (`/pods`, `/healthz`) within the kubelet timeout. */
  async kubeletGet(node: ControlPlaneNode, path: string): Promise<{ status: number; body: string }> {
    const host = this.addressOf(node);
    const deadline = this.deadline();
    try {
      return await kubeletGet(this.accessFor(node), host, node.kubeletPort, path, deadline.signal);
    } finally {
      deadline.clear();
    }
  }

  /** `path` on the node's kubelet, over verified TLS with the kubelet client certificate. */
  kubeletTarget(node: ControlPlaneNode, path: string): ProxyTarget {
    const a = this.accessFor(node);
    return { dialer: a.kubelet, agent: a.agent(a.kubelet), host: this.addressOf(node), port: node.kubeletPort, path };
  }

  /** `host:port` in the node's network, as the proxy subresources reach it. */
  plainTarget(node: ControlPlaneNode, scheme: string, host: string, port: number, path: string): ProxyTarget {
    const a = this.accessFor(node);
    // Upstream: proxying is IP-based, so https is encrypted but not verified and sends no client certificate.
    const dialer = scheme === 'https' ? a.insecureTls : a.raw;
    return { dialer, agent: a.agent(dialer), host, port, path };
  }

  /** Ends pooled connections, then the selector (ours) or the cluster dialer (a caller's selector). */
  async close(): Promise<void> {
    await Promise.all([...this.access.values()].map((a) => a.close()));
    if (this.ownSelector) await this.selector.close?.();
    else await this.clusterDialer?.close();
  }

  private cluster(): Dialer {
    if (!this.clusterDialer) {
      const d = this.selector.dialerFor('cluster');
      this.clusterDialer = this.metrics.instrument(d, this.clusterLabels ?? defaultLabels(d));
    }
    return this.clusterDialer;
  }
}

function defaultLabels(dialer: Dialer): EgressLabels {
  return { protocol: dialer.kind, transport: 'tcp' };
}

/** Upstream's metric labels for the `cluster` egress selection. */
function labelsFromConfig(config: EgressSelectorConfiguration | undefined): EgressLabels {
  const selection = config?.egressSelections.find((s) => s.name === 'cluster');
  if (!selection) return { protocol: 'direct', transport: 'tcp' };
  const c = selection.connection;
  if (c.proxyProtocol === 'Direct') return { protocol: 'direct', transport: 'tcp' };
  const transport = c.transport?.uds ? 'uds' : 'tcp';
  return { protocol: c.proxyProtocol === 'GRPC' ? 'grpc' : 'http_connect', transport };
}
