import type { EgressConnection, EgressSelectorConfiguration } from '@spoke/transport-core/egress';

/**
 * An EgressSelectorConfiguration (as JSON, which is YAML too) whose `cluster` selection (node traffic) uses `connection`; the rest
 * stays Direct.
 */
export function clusterEgressYaml(connection: EgressConnection): string {
  const config: EgressSelectorConfiguration = {
    apiVersion: 'apiserver.k8s.io/v1beta1',
    kind: 'EgressSelectorConfiguration',
    egressSelections: [
      { name: 'cluster', connection },
      { name: 'controlplane', connection: { proxyProtocol: 'Direct' } },
      { name: 'etcd', connection: { proxyProtocol: 'Direct' } },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
