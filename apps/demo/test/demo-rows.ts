import { expect } from 'vitest';

const PATHS = ['node-1 direct TLS', 'node-2 SSH', 'node-3 Konnectivity \\(gRPC/UDS\\)', 'node-4 spoke hub \\+ agent \\(WSS\\)'];

/** Every row of the demo's table passed: readiness, four checks per node, the three refusals. */
export function expectEveryRow(out: string): void {
  expect(out).toMatch(/control plane\s+\S.*✔ 4\/4 Ready/);
  for (const path of PATHS) {
    const rows = out.split('\n').filter((l) => new RegExp(`^${path}`).test(l) && !l.includes('(as expected)'));
    expect(rows, `${path} rows`).toHaveLength(4);
    for (const row of rows) expect(row).toContain('✔');
  }
  expect(out).toMatch(/kubelet cert vs a wrong CA\s+✔ ERR_CERT_UNTRUSTED \(as expected\)/);
  expect(out.match(/✔ ERR_DIAL_DENIED \(as expected\)/g)).toHaveLength(2);
  expect(out).toMatch(/20\/20 rows ok/);
  expect(out).not.toContain('✘');
}
