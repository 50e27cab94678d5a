import type { Duplex } from 'node:stream';
import { SpokeError, dialTarget, formatTarget, type DialOptions, type Dialer, type Target } from '@spoke/transport-core';

/** One node's way in: the address kube-apiserver dials, and the path that really reaches it. */
export interface NodeRoute {
  /** `host:port` as kube-apiserver asks for it (the node's InternalIP and kubelet port). */
  address: string;
  dialer: Dialer;
  /** What `dialer` dials instead (the kubelet's real address on its side of the path). */
  target: string;
}

/**
 * The egress for a real kube-apiserver in the demo: kube-apiserver has one
 * `cluster` egress selection for every node, so this dialer, behind an HTTP
 * CONNECT front end, sends each node's address down that node's own path
 * (direct, SSH, Konnectivity, spoke hub). Any other address is refused.
 */
export class NodeRoutes implements Dialer {
  readonly kind = 'demo-routes';
  readonly #routes: Map<string, NodeRoute>;
  #closed = false;

  constructor(routes: NodeRoute[]) {
    this.#routes = new Map(routes.map((r) => [r.address, r]));
  }

  dial(input: Target | string, options?: DialOptions): Promise<Duplex> {
    return dialTarget(
      input,
      options,
      'demo egress',
      () => this.#closed,
      (target, signal) => {
        const route = this.#routes.get(formatTarget(target));
        if (!route) {
          const known = [...this.#routes.keys()].join(', ');
          throw new SpokeError('ERR_DIAL_DENIED', `${formatTarget(target)} is not a demo node's kubelet (known: ${known}).`);
        }
        return route.dialer.dial(route.target, { signal });
      },
    );
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
