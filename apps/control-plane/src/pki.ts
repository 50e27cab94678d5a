import { createCertificateAuthority, type CertificateAuthority, type CertifiedKey } from '@spoke/transport-core/pki';

/** A node the demo PKI issues a kubelet serving certificate for. */
export interface DemoPkiNode {
  name: string;
  /** Names and IPs the control plane may dial it by (become SANs). Default `[name, '127.0.0.1']`. */
  addresses?: string[];
}

/** Everything a demo cluster needs, PEM. */
export interface DemoPki {
  /** The cluster CA: signs everything below (kubelet CA and client CA alike). */
  ca: CertificateAuthority;
  /** The control plane's serving certificate (SANs: `controlPlaneHosts`). */
  controlPlane: CertifiedKey;
  /** The control plane's client certificate toward kubelets (CN `kube-apiserver-kubelet-client`, O `system:masters`). */
  kubeletClient: CertifiedKey;
  /** kubectl's client certificate (CN `admin`, O `system:masters`). */
  admin: CertifiedKey;
  /** Kubelet serving certificates by node name. */
  kubelets: Record<string, CertifiedKey>;
  /** Issues another kubelet serving certificate (for a node added later). */
  issueKubelet(node: DemoPkiNode): CertifiedKey;
}

/**
 * Issues a demo cluster's PKI in memory (ECDSA P-256): CA, kubelet serving
 * certificates whose SANs cover every address the control plane may pick,
 * the control plane's serving and kubelet-client certificates, and an admin
 * client certificate for kubectl.
 */
export function createDemoPki(options: { nodes?: DemoPkiNode[]; controlPlaneHosts?: string[]; days?: number } = {}): DemoPki {
  const days = options.days ?? 30;
  const ca = createCertificateAuthority({ commonName: 'spoke-demo-ca', days });
  const issueKubelet = (node: DemoPkiNode): CertifiedKey =>
    ca.issue({
      commonName: `system:node:${node.name}`,
      organization: 'system:nodes',
      altNames: node.addresses ?? [node.name, '127.0.0.1'],
      usages: ['server'],
      days,
    });
  const kubelets: Record<string, CertifiedKey> = {};
  for (const node of options.nodes ?? []) kubelets[node.name] = issueKubelet(node);
  return {
    ca,
    controlPlane: ca.issue({
      commonName: 'kube-apiserver',
      altNames: options.controlPlaneHosts ?? ['127.0.0.1', 'localhost', 'kubernetes'],
      usages: ['server'],
      days,
    }),
    kubeletClient: ca.issue({ commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters', usages: ['client'], days }),
    admin: ca.issue({ commonName: 'admin', organization: 'system:masters', usages: ['client'], days }),
    kubelets,
    issueKubelet,
  };
}
