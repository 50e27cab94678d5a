import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createApiClient } from './api-client.js';
import { allRows } from './checks.js';
import { startDemoCluster, type DemoCluster } from './cluster.js';
import type { KubeClient } from './kube-client.js';
import { createKubectlClient, findKubectl } from './kubectl-client.js';
import { kubeApiserverMissing } from './kube-control-plane.js';
import { renderTable } from './table.js';
import { Teardown } from './teardown.js';

const USAGE = `usage: npm run demo [-- --once] [--client auto|kubectl|api] [--ssh auto|sshd|embedded] [--kube-apiserver]

Starts a control plane and four kubelet-shaped nodes on 127.0.0.1, each reached by
another path (direct TLS, SSH, Konnectivity, spoke hub), runs logs, exec,
port-forward and node proxy against each through the control plane, prints a
table, and stays up for kubectl until Ctrl-C.

  --once      exit after the table (exit code 1 if any row failed)
  --client    who talks to the control plane: kubectl (when installed) or the built-in API client
  --ssh       node-2's SSH server: /usr/sbin/sshd when installed, or an embedded ssh2 server
  --kube-apiserver  the real kube-apiserver (and etcd) instead of the sample control plane;
              build it once with: npm run kube:build -w @spoke/e2e
`;

const out = (s: string): boolean => process.stdout.write(s);

// grpc-js (inside the Konnectivity agent) sets the TLS server name to the IP it dials; Node
// deprecates that (DEP0123) on every connect. It is noise in a demo table, so only that one is hidden.
process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code !== 'DEP0123') process.stderr.write(`${w.name}: ${w.message}\n`);
});

function describePaths(c: DemoCluster): string {
  const [n1, n2, n3, n4] = c.nodes;
  return [
    `control plane  ${c.controlPlane.url}  ${c.controlPlane.description}`,
    `${n1?.name}  kubelet :${n1?.kubelet.port}  direct TCP + TLS, client certificate, CA-verified`,
    `${n2?.name}  kubelet :${n2?.kubelet.port}  SSH tunnel through ${c.ssh.kind} on 127.0.0.1:${c.ssh.port} (host key pinned, PermitOpen kubelet only)`,
    `${n3?.name}  kubelet :${n3?.kubelet.port}  Konnectivity agent → server; the control plane dials via ${c.controlPlane.konnectivityVia}`,
    `${n4?.name}  kubelet :${n4?.kubelet.port}  spoke agent → hub ${c.hubUrl} (WSS, pinned fingerprint, token auth)`,
  ].join('\n');
}

function tryNext(c: DemoCluster, once: boolean): string {
  const [n1, n2, n3, n4] = c.nodes;
  return [
    once ? 'kubectl commands to try (run `npm run demo` without --once to keep the cluster up):' : 'Try kubectl against it:',
    `  export KUBECONFIG=${c.kubeconfigPath}`,
    '  kubectl get nodes -o wide',
    '  kubectl get pods -o wide',
    `  kubectl logs ${n1?.pod} --tail=2`,
    `  kubectl logs -f ${n2?.pod}`,
    `  echo hi | kubectl exec -i ${n3?.pod} -- sh -c 'cat; exit 3'; echo "exit code $?"`,
    `  kubectl port-forward pod/${n4?.pod} 8080:http   # then: curl http://127.0.0.1:8080/`,
    `  kubectl get --raw /api/v1/nodes/${n3?.name}/proxy/healthz`,
    `  kubectl get --raw /api/v1/nodes/${n4?.name}/proxy/pods`,
    '  kubectl get --raw /metrics | grep apiserver_egress_dialer',
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      client: { type: 'string', default: 'auto' },
      ssh: { type: 'string', default: 'auto' },
      'kube-apiserver': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const realApiserver = values['kube-apiserver'];
  if (realApiserver) {
    const missing = kubeApiserverMissing();
    if (missing) {
      process.stderr.write(`${missing}\n`);
      return 2;
    }
  }
  const clientMode = values.client;
  const sshMode = values.ssh;
  if (!['auto', 'kubectl', 'api'].includes(clientMode) || !['auto', 'sshd', 'embedded'].includes(sshMode)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const started = performance.now();
  const teardown = new Teardown();
  const lifetime = new AbortController();
  // `on`, not `once`: Ctrl-C reaches the whole process group, so the wrapper's forwarded copy
  // arrives too, and a second SIGINT without a listener would kill us before the teardown.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => resolve(sig));
  });
  void stopped.then(() => lifetime.abort(new Error('interrupted')));

  const dir = mkdtempSync(join(tmpdir(), 'spoke-demo-'));
  teardown.add('temp dir', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const work = (async () => {
      const cluster = await startDemoCluster({
        dir,
        teardown,
        sshMode: sshMode as 'auto',
        controlPlane: realApiserver ? 'kube-apiserver' : 'sample',
        note: (l) => void out(`note: ${l}\n`),
        signal: AbortSignal.any([lifetime.signal, AbortSignal.timeout(realApiserver ? 120_000 : 20_000)]),
      });
      const kubectl = clientMode === 'api' ? undefined : findKubectl();
      if (clientMode === 'kubectl' && !kubectl) throw new Error('kubectl is not installed; use --client=api');
      const client: KubeClient = kubectl
        ? createKubectlClient({ kubectl, kubeconfig: cluster.kubeconfigPath, home: join(dir, 'kubectl-home'), teardown })
        : createApiClient({
            server: cluster.controlPlane.url,
            ca: cluster.pki.ca.cert,
            cert: cluster.pki.admin.cert,
            key: cluster.pki.admin.key,
          });
      out(`\n${describePaths(cluster)}\n\nclient: ${client.description}\n\n`);
      const rows = await allRows(client, cluster, () => AbortSignal.any([lifetime.signal, AbortSignal.timeout(15_000)]));
      out(`${renderTable(rows)}\n\n`);
      const failed = rows.filter((r) => !r.ok).length;
      out(
        `${rows.length - failed}/${rows.length} rows ok in ${((performance.now() - started) / 1000).toFixed(1)} s; kubeconfig: ${cluster.kubeconfigPath}\n\n${tryNext(cluster, values.once)}\n\n`,
      );
      return failed;
    })();
    const failed = await Promise.race([work, stopped.then(() => -1)]);
    if (failed === -1) return 130;
    if (values.once) return failed > 0 ? 1 : 0;
    out('Running; press Ctrl-C to stop.\n');
    await stopped;
    return 0;
  } catch (err) {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await teardown.run();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
