import http from 'node:http';
import { SpokeError, createHttpAgent, type Dialer } from '@spoke/transport-core';
import { createTlsDialer } from '@spoke/dialer-tls';

/** A node address as in `node.status.addresses`. */
export interface NodeAddress {
  type: 'Hostname' | 'InternalIP' | 'ExternalIP' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

/** kube-apiserver's default `--kubelet-preferred-address-types`. */
export const DEFAULT_PREFERRED_ADDRESS_TYPES: readonly NodeAddress['type'][] = [
  'Hostname',
  'InternalDNS',
  'InternalIP',
  'ExternalDNS',
  'ExternalIP',
];

/**
 * The address the control plane dials a node at: the first of `addresses`
 * whose type comes first in `preferred` (kube-apiserver's
 * `GetPreferredNodeAddress`).
 */
export function preferredAddress(name: string, addresses: NodeAddress[], preferred: readonly string[]): string {
  for (const type of preferred) {
    const hit = addresses.find((a) => a.type === type);
    if (hit) return hit.address;
  }
  throw new SpokeError(
    'ERR_NO_ROUTE',
    `Node ${name}: no preferred addresses found; known addresses: ${addresses.map((a) => `${a.type}=${a.address}`).join(', ') || 'none'}. Add an address of a type in preferredAddressTypes (${preferred.join(',')}).`,
  );
}

/** Kubelet client identity and trust (`--kubelet-client-certificate/-key`, `--kubelet-certificate-authority`). */
export interface KubeletTls {
  ca: string;
  cert: string;
  key: string;
}

/**
 * The ways to reach one node: `raw` is the egress dialer (plain TCP to any
 * port on the node's network), `kubelet` adds TLS to the kubelet with CA
 * verification and our client certificate, `insecureTls` is the https
 * proxy transport (encrypted, not verified, no client certificate, as
 * upstream's proxy subresources). Each comes with a keep-alive http.Agent.
 */
export class NodeAccess {
  readonly kubelet: Dialer;
  readonly insecureTls: Dialer;
  private readonly agents = new Map<Dialer, http.Agent>();

  constructor(
    readonly raw: Dialer,
    tls: KubeletTls,
    timeoutMs: number,
  ) {
    this.kubelet = createTlsDialer({ ca: tls.ca, cert: tls.cert, key: tls.key, via: raw, timeoutMs });
    this.insecureTls = createTlsDialer({ insecureSkipVerify: true, via: raw, timeoutMs, warn: () => {} });
  }

  /** A keep-alive agent over `dialer` (requests use `http:`; TLS, if any, is the dialer's). */
  agent(dialer: Dialer): http.Agent {
    let agent = this.agents.get(dialer);
    if (!agent) {
      agent = createHttpAgent(dialer, { keepAlive: true, maxSockets: 64 });
      this.agents.set(dialer, agent);
    }
    return agent;
  }

  /** Closes pooled connections (not the shared egress dialer). */
  async close(): Promise<void> {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
    await Promise.all([this.kubelet.close(), this.insecureTls.close()]);
  }
}

/** GET a kubelet JSON document (`/pods`, `/healthz`) through `access`. */
export function kubeletGet(
  access: NodeAccess,
  host: string,
  port: number,
  path: string,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method: 'GET', agent: access.agent(access.kubelet), signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
