import type { DemoCluster, DemoNode } from './cluster.js';
import type { KubeClient } from './kube-client.js';
import { measure, type Row } from './table.js';

const EXEC_STDIN = 'ping through the control plane\n';

function expectEqual(what: string, got: string, want: string): void {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

/** The four checks of one node, each through the control plane's API with `client`. */
export async function nodeRows(client: KubeClient, node: DemoNode, within: () => AbortSignal): Promise<Row[]> {
  const path = `${node.name} ${node.path}`;
  const rows: Row[] = [];
  rows.push(
    await measure(path, client.spell('logs'), async () => {
      const out = await client.logs(node.pod, 2, within());
      expectEqual('log tail', out, node.logTail);
      return `2 lines: "${out.split('\n')[1] ?? ''}"`;
    }),
  );
  rows.push(
    await measure(path, client.spell('exec'), async () => {
      const r = await client.exec(node.pod, ['sh', '-c', 'cat; exit 3'], EXEC_STDIN, within());
      expectEqual('exec stdout', r.stdout, EXEC_STDIN);
      if (r.code !== 3) throw new Error(`exec exit code ${r.code}, want 3 (stderr: ${r.stderr.trim()})`);
      return 'stdin echoed, exit code 3';
    }),
  );
  rows.push(
    await measure(path, client.spell('port-forward'), async () => {
      const r = await client.portForwardGet(node.pod, '/', within());
      expectEqual('HTTP body', r.body, node.body);
      return `${r.status} ${r.body.trim()}`;
    }),
  );
  rows.push(
    await measure(path, client.spell('node-proxy'), async () => {
      const out = await client.raw(`/api/v1/nodes/${node.name}/proxy/healthz`, within());
      expectEqual('healthz', out.trim(), 'ok');
      return 'ok';
    }),
  );
  return rows;
}

/** Every row of the demo table: node readiness, four checks per node, and the refusals. */
export async function allRows(client: KubeClient, cluster: DemoCluster, within: () => AbortSignal): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(
    await measure('control plane', client.spell('nodes'), async () => {
      const ready = await client.nodes(within());
      const notReady = cluster.nodes.filter((n) => ready.get(n.name) !== 'True').map((n) => n.name);
      if (notReady.length > 0) throw new Error(`not Ready: ${notReady.join(', ')}`);
      return `${ready.size}/${cluster.nodes.length} Ready`;
    }),
  );
  for (const node of cluster.nodes) rows.push(...(await nodeRows(client, node, within)));
  for (const p of cluster.policyChecks) rows.push(await measure(p.path, p.check, () => p.run(within()), p.expectCode));
  return rows;
}
