import { afterAll, describe, expect, it } from 'vitest';
import { SpokeError, type Dialer } from '@spoke/transport-core';
import { EgressAccess } from '../src/egress-access.js';
import { EgressMetrics } from '../src/metrics.js';
import { createDemoPki, type ControlPlaneNode } from '../src/index.js';

const pki = createDemoPki();
const tls = { kubeletCa: pki.ca.cert, kubeletClientCert: pki.kubeletClient.cert, kubeletClientKey: pki.kubeletClient.key };
const node: ControlPlaneNode = { name: 'node-a', addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], kubeletPort: 10250 };

/** A custom egress dialer that refuses every dial (no socket is needed to see how dials are counted). */
function refusing(kind: string): Dialer {
  return {
    kind,
    dial: () => Promise.reject(new SpokeError('ERR_DIAL_REFUSED', 'refused by the test dialer')),
    close: () => Promise.resolve(),
  };
}

describe('EgressAccess with a caller-supplied egress selector', () => {
  const lifetime = new AbortController();
  const opened: EgressAccess[] = [];
  afterAll(async () => {
    lifetime.abort();
    await Promise.all(opened.map((a) => a.close()));
  });

  it('labels its dials with the dialer kind when no egressLabels are given', async () => {
    const metrics = new EgressMetrics();
    const access = new EgressAccess({ ...tls, egressSelector: { dialerFor: () => refusing('custom') } }, metrics, lifetime.signal);
    opened.push(access);
    await expect(access.kubeletGet(node, '/healthz')).rejects.toThrow(/refused by the test dialer/);
    expect(metrics.render()).toMatch(/apiserver_egress_dialer_dial_start_total\{protocol="custom",transport="tcp"\} 1/);
    expect(metrics.render()).toMatch(/apiserver_egress_dialer_dial_failure_count\{protocol="custom",stage="connect",transport="tcp"\} 1/);
    expect(access.egressName(node)).toBe('custom');
  });

  it('uses egressLabels when given', async () => {
    const metrics = new EgressMetrics();
    const egressLabels = { protocol: 'ssh', transport: 'tcp' };
    const access = new EgressAccess({ ...tls, egressSelector: { dialerFor: () => refusing('x') }, egressLabels }, metrics, lifetime.signal);
    opened.push(access);
    await expect(access.kubeletGet(node, '/healthz')).rejects.toThrow();
    expect(metrics.render()).toMatch(/apiserver_egress_dialer_dial_start_total\{protocol="ssh",transport="tcp"\} 1/);
    expect(access.egressName(node)).toBe('ssh');
  });
});
