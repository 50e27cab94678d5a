import type { EgressConnection, EgressSelectorConfiguration } from '@spoke/transport-core/egress';
import { stringify } from 'yaml';

/** An EgressSelectorConfiguration whose `cluster` selection (node traffic) uses `connection`; the rest stays Direct. */
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
  return stringify(config);
}
