import type { Logger } from '@spoke/transport-core';
import { namespaceObject, nodeObject, serviceObject, type NodeReadiness } from './api-objects.js';
import type { EgressAccess } from './egress-access.js';
import { kubeTime, meta, type Json } from './json.js';
import type { ControlPlaneNode, ControlPlaneService } from './options.js';

/** A pod as its kubelet lists it, with the node that runs it. */
export interface PlacedPod {
  pod: Json;
  node: ControlPlaneNode;
}

/**
 * The objects the control plane serves. Nodes and services are the ones it
 * was given; pods are asked of every kubelet on each read (nothing is cached,
 * so what kubectl sees is what the nodes report now); namespaces are those
 * that services and pods name, plus `default`.
 */
export class ClusterResources {
  /** Every object's creationTimestamp: the control plane's start. */
  private readonly created = kubeTime(new Date());
  private readonly nodesByName: Map<string, ControlPlaneNode>;

  constructor(
    private readonly nodeList: readonly ControlPlaneNode[],
    private readonly serviceList: readonly ControlPlaneService[],
    private readonly egress: EgressAccess,
    private readonly logger: Logger,
  ) {
    this.nodesByName = new Map(nodeList.map((n) => [n.name, n]));
  }

  node(name: string): ControlPlaneNode | undefined {
    return this.nodesByName.get(name);
  }

  /** Every node as a v1 Node, Ready as its kubelet's `/healthz` says. */
  nodeObjects(): Promise<Json[]> {
    return Promise.all(this.nodeList.map((n) => this.nodeObject(n)));
  }

  async nodeObject(node: ControlPlaneNode): Promise<Json> {
    return nodeObject(node, await this.readiness(node), this.egress.egressName(node), this.created, kubeTime(new Date()));
  }

  /** The pods of every reachable kubelet (in `namespace` when given); an unreachable node contributes none. */
  async pods(namespace?: string): Promise<PlacedPod[]> {
    const all = (await Promise.all(this.nodeList.map((node) => this.podsOf(node)))).flat();
    return namespace === undefined ? all : all.filter((p) => meta(p.pod).namespace === namespace);
  }

  async findPod(namespace: string, name: string): Promise<PlacedPod | undefined> {
    return (await this.pods(namespace)).find((p) => meta(p.pod).name === name);
  }

  /** The services (in `namespace` when given). */
  services(namespace?: string): ControlPlaneService[] {
    return this.serviceList.filter((s) => namespace === undefined || (s.namespace ?? 'default') === namespace);
  }

  findService(namespace: string, name: string): ControlPlaneService | undefined {
    return this.services(namespace).find((s) => s.name === name);
  }

  serviceObject(svc: ControlPlaneService): Json {
    return serviceObject(svc, this.created);
  }

  /** The namespaces in use: `default`, those of services, those of the pods the kubelets report. */
  async namespaces(): Promise<Set<string>> {
    const names = new Set(['default', ...this.serviceList.map((s) => s.namespace ?? 'default')]);
    for (const p of await this.pods()) names.add(String(meta(p.pod).namespace));
    return names;
  }

  namespaceObject(name: string): Json {
    return namespaceObject(name, this.created);
  }

  private async readiness(node: ControlPlaneNode): Promise<NodeReadiness> {
    try {
      const answer = await this.egress.kubeletGet(node, '/healthz');
      if (answer.status !== 200)
        return { status: 'False', reason: 'KubeletNotReady', message: `kubelet /healthz answered ${answer.status}` };
      return { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' };
    } catch (err) {
      return { status: 'Unknown', reason: 'NodeUnreachable', message: (err as Error).message };
    }
  }

  private async podsOf(node: ControlPlaneNode): Promise<PlacedPod[]> {
    try {
      const answer = await this.egress.kubeletGet(node, '/pods');
      if (answer.status !== 200) return [];
      const list = JSON.parse(answer.body) as { items?: Json[] };
      return (list.items ?? []).map((pod) => ({ pod, node }));
    } catch (err) {
      this.logger.debug('cannot list pods of node', { node: node.name, error: (err as Error).message });
      return [];
    }
  }
}
