import { parseAgentIdentifiers } from '@spoke/transport-core/utils';
import { describe, expect, it } from 'vitest';
import { BackendManager, type Backend } from './backends.js';
import { ServerMetrics } from './metrics.js';

describe('ServerMetrics', () => {
  it("renders upstream's metric names and labels, and spoke's counters from zero", () => {
    const backends = new BackendManager(['destHost', 'default']);
    const metrics = new ServerMetrics(backends, ['destHost', 'default']);
    const identifiers = parseAgentIdentifiers('host=node-1', { strict: false });
    backends.add({ agentId: 'a', identifiers, call: {} as Backend['call'], draining: false, cidrs: [] });
    backends.add({ agentId: 'b', identifiers: parseAgentIdentifiers(''), call: {} as Backend['call'], draining: false, cidrs: [] });
    metrics.grpc('Connect', 2);
    metrics.dialFailure('no_agent');
    metrics.dialFailure('no_agent');
    metrics.pendingDials = 3;
    const lines = metrics.render().split('\n');
    const p = 'konnectivity_network_proxy_server';
    expect(lines).toEqual(
      expect.arrayContaining([
        `# TYPE ${p}_ready_backend_connections gauge`,
        `${p}_ready_backend_connections 2`,
        `${p}_ready_backends{proxy_strategy="destHost"} 1`,
        `${p}_ready_backends{proxy_strategy="default"} 2`,
        `${p}_pending_backend_dials 3`,
        `${p}_established_connections 0`,
        `${p}_grpc_connections{service_method="Proxy"} 0`,
        `${p}_grpc_connections{service_method="Connect"} 2`,
        `${p}_http_connections 0`,
        `# TYPE ${p}_dial_failure_count counter`,
        `${p}_dial_failure_count{reason="no_agent"} 2`,
        `${p}_stalled_frontend_closes_total 0`,
        `${p}_agent_auth_failures_total 0`,
      ]),
    );
  });
});
