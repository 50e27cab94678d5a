import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeRegisteredPort } from '@spoke/transport-core/testing';
import { startKubeCluster, type KubeCluster } from '@spoke/e2e/kube';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFESTS_DIR, NAMESPACE } from '../render.mjs';
import { CLI_BIN, expandArgs } from './cli.js';
import { find, parseObjects, staticPod, workloads, type Container } from './objects.js';

// Every object of deploy/manifests applied with `kubectl apply --dry-run=server` to the real kube-apiserver the e2e
// suite runs (etcd + kube-apiserver v1.34.4 from the Go module proxy): the API server decodes, defaults, validates and
// admits each one (PriorityClass, hostPath, probes, securityContext, RBAC references) and stores nothing.
let cluster: KubeCluster;
const cacheDirs: string[] = [];
const children: ChildProcess[] = [];

/** cert-manager's CRDs are not installed here: stand-ins accept any spec, so only apiVersion, kind and metadata are checked. */
function standInCrd(kind: string, plural: string): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.cert-manager.io` },
    spec: {
      group: 'cert-manager.io',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

async function must(args: string[], stdin?: string): Promise<string> {
  const r = await cluster.kubectl(args, stdin !== undefined ? { stdin } : {});
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A server-side dry run of `yamlText`, with a fresh discovery cache (the stand-in CRDs are new). */
async function dryRun(yamlText: string): Promise<{ code: number; names: string[]; stderr: string }> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'spoke-deploy-kubecache-'));
  cacheDirs.push(cacheDir);
  const r = await cluster.kubectl(['apply', '--dry-run=server', `--cache-dir=${cacheDir}`, '-o', 'name', '-f', '-'], { stdin: yamlText });
  return { code: r.code, names: r.stdout.trim().split('\n').filter(Boolean), stderr: r.stderr };
}

beforeAll(async () => {
  cluster = await startKubeCluster();
  // A dry run creates nothing, so the namespace the objects live in must exist for real.
  await must(['create', 'namespace', NAMESPACE, '--save-config']);
  await must(
    ['apply', '-f', '-'],
    [standInCrd('Certificate', 'certificates'), standInCrd('Issuer', 'issuers')].map((c) => `---\n${stringify(c)}`).join(''),
  );
  await must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/certificates.cert-manager.io', 'crd/issuers.cert-manager.io']);
}, 180_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await cluster?.close();
  for (const d of cacheDirs) rmSync(d, { recursive: true, force: true });
});

describe('kubectl apply --dry-run=server to the real kube-apiserver', () => {
  for (const example of ['hub-agents', 'konnectivity', 'mtls-cert-manager']) {
    it(`deploy/manifests/${example}.yaml: every object is accepted`, async () => {
      const text = readFileSync(join(MANIFESTS_DIR, `${example}.yaml`), 'utf8');
      const objects = parseObjects(text);
      const r = await dryRun(text);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.names.length).toBe(objects.length);
    });
  }

  it('the Konnectivity server static pod (from the ConfigMap) is a Pod the API accepts', async () => {
    const cm = find(parseObjects(readFileSync(join(MANIFESTS_DIR, 'konnectivity.yaml'), 'utf8')), 'ConfigMap', 'spoke-konnectivity-server');
    const r = await dryRun(stringify(staticPod(cm, 'konnectivity-server.yaml')));
    expect(r.stderr).toBe('');
    expect(r.names).toEqual(['pod/konnectivity-server']);
  });

  it('the check works: the API refuses an invalid object', async () => {
    const r = await dryRun(
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'bad', namespace: NAMESPACE },
        spec: {
          containers: [{ name: 'c', image: 'x', securityContext: { capabilities: { drop: ['ALL'] } }, ports: [{ containerPort: 70000 }] }],
        },
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('containerPort');
  });
});

/** The args with flags rewritten by `rewrite` (name → new value, or undefined to keep) and $(VAR) expanded. */
function rewriteArgs(c: Container, rewrite: Record<string, string>): string[] {
  const env = new Set((c.env ?? []).map((e) => e.name));
  return expandArgs(c.args ?? [], env).map((a) => {
    const name = /^(--[a-z-]+)=/.exec(a)?.[1];
    return name !== undefined && rewrite[name] !== undefined ? `${name}=${rewrite[name]}` : a;
  });
}

async function poll(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the Konnectivity drop-in against the real API server', () => {
  it(
    'the rendered server and agent run: the agent is admitted by TokenReview, which the rendered RBAC lets system:konnectivity-server do',
    { timeout: 90_000 },
    async () => {
      const objects = parseObjects(readFileSync(join(MANIFESTS_DIR, 'konnectivity.yaml'), 'utf8'));
      const canReview = async () =>
        (
          await cluster.kubectl(['auth', 'can-i', 'create', 'tokenreviews.authentication.k8s.io', '--as=system:konnectivity-server'])
        ).stdout.trim();
      expect(await canReview()).toBe('no');
      // The cluster objects, for real this time: the agents' ServiceAccount and the server's ClusterRoleBinding.
      const sa = find(objects, 'ServiceAccount', 'konnectivity-agent');
      const crb = find(objects, 'ClusterRoleBinding', 'system:konnectivity-server');
      await must(['apply', '-f', '-'], `${stringify(sa)}---\n${stringify(crb)}`);
      expect(await canReview()).toBe('yes');
      // What the kubelet would project into the agent pod: a token for the audience the DaemonSet asks for.
      const token = (
        await must(['create', 'token', 'konnectivity-agent', '-n', 'kube-system', '--audience=system:konnectivity-server'])
      ).trim();

      // The control-plane node's files: the server's certificate from the cluster CA (agents verify it with the
      // service-account ca.crt), and a kubeconfig for user system:konnectivity-server.
      const home = mkdtempSync(join(tmpdir(), 'spoke-deploy-konnectivity-'));
      cacheDirs.push(home);
      mkdirSync(join(home, 'pki'));
      const serving = cluster.pki.ca.issue({ commonName: 'konnectivity-server', altNames: ['127.0.0.1'], usages: ['server'] });
      const client = cluster.pki.ca.issue({ commonName: 'system:konnectivity-server', usages: ['client'] });
      const b64 = (pem: string) => Buffer.from(pem).toString('base64');
      const files: Record<string, string> = {
        'pki/konnectivity-server.crt': serving.cert,
        'pki/konnectivity-server.key': serving.key,
        kubeconfig: stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: cluster.apiserver.url, 'certificate-authority-data': b64(cluster.pki.ca.cert) } }],
          users: [{ name: 'u', user: { 'client-certificate-data': b64(client.cert), 'client-key-data': b64(client.key) } }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        }),
        'ca.crt': cluster.pki.ca.cert,
        'agent-token': token,
      };
      for (const [name, text] of Object.entries(files)) writeFileSync(join(home, name), text, { mode: 0o600 });

      const ws = workloads(objects);
      const server = ws.find((w) => w.source.endsWith('konnectivity-server.yaml'))?.pod.containers[0];
      const agent = ws.find((w) => w.source === 'DaemonSet/konnectivity-agent')?.pod.containers[0];
      if (!server || !agent) throw new Error('konnectivity server or agent missing from the render');
      const [agentPort, healthPort, agentHealthPort] = [await freeRegisteredPort(), await freeRegisteredPort(), await freeRegisteredPort()];
      // The paths and ports of the rendered args, moved into this test's directory and to free ports.
      const serverArgs = rewriteArgs(server, {
        '--uds-name': join(home, 'konnectivity-server.socket'),
        '--cluster-cert': join(home, 'pki/konnectivity-server.crt'),
        '--cluster-key': join(home, 'pki/konnectivity-server.key'),
        '--kubeconfig': join(home, 'kubeconfig'),
        '--agent-port': String(agentPort),
        '--health-port': String(healthPort),
      });
      const agentArgs = rewriteArgs(agent, {
        '--proxy-server-host': '127.0.0.1',
        '--proxy-server-port': String(agentPort),
        '--ca-cert': join(home, 'ca.crt'),
        '--service-account-token-path': join(home, 'agent-token'),
        '--health-server-port': String(agentHealthPort),
      });
      for (const args of [serverArgs, agentArgs]) children.push(spawn(process.execPath, [CLI_BIN, ...args], { stdio: 'ignore' }));

      const metric = `http://127.0.0.1:${healthPort}/metrics`;
      await poll(
        'the server to count the agent',
        async () => /^konnectivity_network_proxy_server_ready_backend_connections 1$/m.test(await (await fetch(metric)).text()),
        45_000,
      );
      await poll('the agent to be ready', async () => (await fetch(`http://127.0.0.1:${agentHealthPort}/readyz`)).status === 200, 15_000);
      expect((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status).toBe(200);
    },
  );
});
