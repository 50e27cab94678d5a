import { describe, expect, it } from 'vitest';
import { find, portNumber, render, staticPod, workloads, type K8sObject, type Workload } from './objects.js';

const EXAMPLES = ['hub-agents', 'konnectivity', 'mtls-cert-manager'] as const;
const rendered = new Map<string, K8sObject[]>(EXAMPLES.map((e) => [e, render(e)]));
const all = (): Array<[string, Workload]> =>
  EXAMPLES.flatMap((e) => workloads(rendered.get(e) ?? []).map((w): [string, Workload] => [e, w]));

describe('every rendered pod', () => {
  it('there are pods to check in every example', () => {
    expect(
      all()
        .map(([e, w]) => `${e}: ${w.source}`)
        .sort(),
    ).toEqual([
      'hub-agents: DaemonSet/spoke-agent',
      'hub-agents: Deployment/spoke-hub',
      'konnectivity: ConfigMap/spoke-konnectivity-server/konnectivity-server.yaml',
      'konnectivity: DaemonSet/konnectivity-agent',
      'mtls-cert-manager: DaemonSet/spoke-agent',
      'mtls-cert-manager: Deployment/spoke-hub',
    ]);
  });

  it('runs as uid 65532, non-root, read-only root, no capabilities, no escalation, RuntimeDefault seccomp', () => {
    for (const [example, w] of all()) {
      const where = `${example} ${w.source}`;
      expect(w.pod.securityContext, where).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65532,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const c of w.pod.containers)
        expect(c.securityContext, `${where} ${c.name}`).toEqual({
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
    }
  });

  it('sets memory requests and limits, and a CPU request', () => {
    for (const [example, w] of all())
      for (const c of w.pod.containers) {
        expect(c.resources?.requests?.memory, `${example} ${w.source}`).toMatch(/^\d+Mi$/);
        expect(c.resources?.requests?.cpu).toMatch(/^\d+m$/);
        expect(c.resources?.limits?.memory).toMatch(/^\d+Mi$/);
      }
  });

  it('mounts secrets read-only from Secrets (or projected tokens, or csi-driver certificates), never from env', () => {
    for (const [example, w] of all())
      for (const c of w.pod.containers) {
        for (const e of c.env ?? []) expect(e.name, `${example} ${w.source}`).toMatch(/^(POD_NAME|NODE_NAME|HOST_IP)$/);
        for (const m of c.volumeMounts ?? []) {
          const v = w.pod.volumes?.find((x) => x.name === m.name);
          expect(v, `${w.source} mount ${m.name}`).toBeDefined();
          if (v?.secret || v?.projected || v?.csi) expect(m.readOnly, `${w.source} mount ${m.name}`).toBe(true);
          if (v?.secret) expect(v.secret.defaultMode).toBe(0o440);
        }
      }
  });

  it('probes /healthz (liveness) and /readyz (readiness) on a declared port, and annotates it for Prometheus', () => {
    for (const [example, w] of all()) {
      const where = `${example} ${w.source}`;
      const c = w.pod.containers[0];
      if (!c) throw new Error(`${where}: no container`);
      const live = c.livenessProbe?.httpGet;
      const ready = c.readinessProbe?.httpGet;
      expect(live?.path, where).toBe('/healthz');
      expect(ready?.path, where).toBe('/readyz');
      const port = portNumber(c, live?.port ?? '');
      expect(port, where).toBeDefined();
      expect(portNumber(c, ready?.port ?? '')).toBe(port);
      expect(c.ports?.some((p) => p.containerPort === port)).toBe(true);
      expect(w.podAnnotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      });
    }
  });
});

describe('hub and agents (hub-agents.yaml)', () => {
  const objects = rendered.get('hub-agents') ?? [];
  const hub = workloads(objects).find((w) => w.source === 'Deployment/spoke-hub');
  const hubArgs = hub?.pod.containers[0]?.args ?? [];

  it('N replicas behind one Service, each told --hub-count=N so that agents reach every replica', () => {
    const deployment = find(objects, 'Deployment', 'spoke-hub');
    expect(deployment.spec?.replicas).toBe(3);
    expect(hubArgs).toContain('--hub-count=3');
    expect(hubArgs).toContain('--id=$(POD_NAME)');
    const service = find(objects, 'Service', 'spoke-hub');
    expect(service.spec).toMatchObject({ sessionAffinity: 'None', ports: [{ name: 'wss', port: 8443, targetPort: 'wss' }] });
    const selector = service.spec?.selector as Record<string, string>;
    const podLabels = (deployment.spec?.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
    expect(podLabels).toMatchObject(selector);
    expect(find(objects, 'PodDisruptionBudget', 'spoke-hub').spec).toMatchObject({ minAvailable: 1 });
  });

  it('the hub serves the TLS Secret and reads tokens from the tokens Secret; metrics on their own port', () => {
    expect(hubArgs).toEqual(
      expect.arrayContaining([
        'hub',
        '--listen=0.0.0.0:8443',
        '--metrics=0.0.0.0:9090',
        '--tls-cert=/etc/spoke/tls/tls.crt',
        '--tls-key=/etc/spoke/tls/tls.key',
        '--agent-token-file=/etc/spoke/tokens/agent-tokens',
        '--client-token-file=/etc/spoke/tokens/client-tokens',
      ]),
    );
    expect(hub?.pod.volumes?.find((v) => v.name === 'tls')?.secret?.secretName).toBe('spoke-hub-tls');
    expect(hub?.pod.volumes?.find((v) => v.name === 'tokens')?.secret?.secretName).toBe('spoke-tokens');
    expect(hub?.pod.automountServiceAccountToken).toBe(false);
  });

  it('agents dial the Service by its cluster DNS name, verify it with the CA Secret, and allow the kubelet', () => {
    const agent = workloads(objects).find((w) => w.source === 'DaemonSet/spoke-agent');
    const args = agent?.pod.containers[0]?.args ?? [];
    expect(args).toEqual(
      expect.arrayContaining([
        'agent',
        '--hub=wss://spoke-hub.spoke.svc:8443',
        '--id=$(NODE_NAME)',
        '--token-file=/etc/spoke/token/token',
        '--ca=/etc/spoke/hub-ca/ca.crt',
        '--allow=$(HOST_IP)/32:10250',
      ]),
    );
    expect(agent?.pod.volumes?.find((v) => v.name === 'hub-ca')?.secret).toMatchObject({
      secretName: 'spoke-hub-ca',
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
    expect(agent?.pod.volumes?.find((v) => v.name === 'token')?.secret).toMatchObject({
      secretName: 'spoke-tokens',
      items: [{ key: 'agent-tokens', path: 'token' }],
    });
  });
});

describe('Konnectivity drop-in (konnectivity.yaml), as upstream examples/kubernetes', () => {
  const objects = rendered.get('konnectivity') ?? [];

  it('binds the system:konnectivity-server user to system:auth-delegator for TokenReview', () => {
    const crb = find(objects, 'ClusterRoleBinding', 'system:konnectivity-server');
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' });
    expect(crb.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:konnectivity-server' }]);
  });

  it('the server static pod: hostNetwork, upstream flags and ports, the unix socket kube-apiserver uses', () => {
    const cm = find(objects, 'ConfigMap', 'spoke-konnectivity-server');
    const pod = staticPod(cm, 'konnectivity-server.yaml');
    expect(pod.metadata).toMatchObject({ name: 'konnectivity-server', namespace: 'kube-system' });
    const spec = pod.spec as unknown as Workload['pod'];
    expect(spec.hostNetwork).toBe(true);
    const c = spec.containers[0];
    expect(c?.args).toEqual(
      expect.arrayContaining([
        'konnectivity',
        'server',
        '--uds-name=/etc/kubernetes/konnectivity-server/konnectivity-server.socket',
        '--server-port=0',
        '--agent-port=8091',
        '--health-port=8092',
        '--mode=grpc',
        '--agent-namespace=kube-system',
        '--agent-service-account=konnectivity-agent',
        '--authentication-audience=system:konnectivity-server',
        '--kubeconfig=/etc/kubernetes/konnectivity-server/kubeconfig',
      ]),
    );
    expect(c?.ports).toEqual([
      { name: 'agentport', containerPort: 8091, hostPort: 8091 },
      { name: 'healthport', containerPort: 8092, hostPort: 8092 },
    ]);
    expect(c?.livenessProbe?.httpGet).toMatchObject({ host: '127.0.0.1', port: 8092 });
    // The sidecar snippet carries the same container.
    const sidecar = staticPod(cm, 'kube-apiserver-sidecar.yaml') as unknown as { containers: unknown[] };
    expect(sidecar.containers[0]).toEqual(c);
    const egress = staticPod(cm, 'egress-selector-configuration.yaml') as unknown as {
      egressSelections: Array<{ name: string; connection: { proxyProtocol: string; transport?: { uds: { udsName: string } } } }>;
    };
    expect(egress.egressSelections[0]).toEqual({
      name: 'cluster',
      connection: {
        proxyProtocol: 'GRPC',
        transport: { uds: { udsName: '/etc/kubernetes/konnectivity-server/konnectivity-server.socket' } },
      },
    });
  });

  it('upstream defaults (examples/kubernetes): http-connect mode and the /etc/srv/kubernetes paths', () => {
    const objs = render(undefined, ['hub.enabled=false', 'agent.enabled=false', 'konnectivityServer.enabled=true']);
    const pod = staticPod(find(objs, 'ConfigMap', 'spoke-konnectivity-server'), 'konnectivity-server.yaml');
    const args = (pod.spec as unknown as Workload['pod']).containers[0]?.args;
    expect(args).toEqual(
      expect.arrayContaining([
        '--uds-name=/etc/srv/kubernetes/konnectivity-server/konnectivity-server.socket',
        '--cluster-cert=/etc/srv/kubernetes/pki/apiserver.crt',
        '--cluster-key=/etc/srv/kubernetes/pki/apiserver.key',
        '--mode=http-connect',
        '--kubeconfig=/etc/srv/kubernetes/konnectivity-server/kubeconfig',
      ]),
    );
  });

  it('the agent DaemonSet: its ServiceAccount, a projected token for audience system:konnectivity-server, health on 8093', () => {
    expect(find(objects, 'ServiceAccount', 'konnectivity-agent').metadata.namespace).toBe('kube-system');
    const agent = workloads(objects).find((w) => w.source === 'DaemonSet/konnectivity-agent');
    expect(agent?.pod.serviceAccountName).toBe('konnectivity-agent');
    const c = agent?.pod.containers[0];
    expect(c?.args).toEqual(
      expect.arrayContaining([
        'konnectivity',
        'agent',
        '--ca-cert=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
        '--proxy-server-host=cp.example.internal',
        '--proxy-server-port=8091',
        '--service-account-token-path=/var/run/secrets/tokens/konnectivity-agent-token',
        '--health-server-port=8093',
      ]),
    );
    expect(agent?.pod.volumes?.find((v) => v.name === 'konnectivity-agent-token')?.projected?.sources).toEqual([
      { serviceAccountToken: { path: 'konnectivity-agent-token', audience: 'system:konnectivity-server' } },
    ]);
    expect(c?.readinessProbe?.httpGet?.port).toBe('healthport');
    expect(c?.ports).toEqual([{ name: 'healthport', containerPort: 8093, protocol: 'TCP' }]);
  });
});

describe('mTLS with cert-manager (mtls-cert-manager.yaml)', () => {
  const objects = rendered.get('mtls-cert-manager') ?? [];

  it('two CAs (agents and clients apart, as the hub requires), their Issuers, the hub and an example client Certificate', () => {
    const names = objects.filter((o) => o.apiVersion === 'cert-manager.io/v1').map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names.sort()).toEqual(
      [
        'Issuer/spoke-selfsigned',
        'Certificate/spoke-hub-ca',
        'Issuer/spoke-hub-ca',
        'Certificate/spoke-client-ca',
        'Issuer/spoke-client-ca',
        'Certificate/spoke-hub-tls',
        'Certificate/spoke-client-example-client',
      ].sort(),
    );
    expect(find(objects, 'Certificate', 'spoke-hub-tls').spec).toMatchObject({
      secretName: 'spoke-hub-tls',
      dnsNames: expect.arrayContaining(['spoke-hub.spoke.svc']) as unknown,
      issuerRef: { name: 'spoke-hub-ca' },
    });
    expect(find(objects, 'Certificate', 'spoke-client-example-client').spec).toMatchObject({ issuerRef: { name: 'spoke-client-ca' } });
  });

  it('the hub checks agents against the hub CA and clients against the client CA; agents get per-pod certificates', () => {
    const ws = workloads(objects);
    const hubArgs = ws.find((w) => w.source === 'Deployment/spoke-hub')?.pod.containers[0]?.args ?? [];
    expect(hubArgs).toEqual(expect.arrayContaining(['--agent-ca=/etc/spoke/tls/ca.crt', '--client-ca=/etc/spoke/client-ca/ca.crt']));
    expect(hubArgs.some((a) => a.startsWith('--agent-token-file'))).toBe(false);
    const agent = ws.find((w) => w.source === 'DaemonSet/spoke-agent');
    expect(agent?.pod.containers[0]?.args).toEqual(
      expect.arrayContaining([
        '--id=$(POD_NAME)',
        '--cert=/etc/spoke/agent-tls/tls.crt',
        '--key=/etc/spoke/agent-tls/tls.key',
        '--ca=/etc/spoke/agent-tls/ca.crt',
      ]),
    );
    expect(agent?.pod.volumes?.find((v) => v.name === 'agent-tls')?.csi).toMatchObject({
      driver: 'csi.cert-manager.io',
      volumeAttributes: { 'csi.cert-manager.io/common-name': '${POD_NAME}', 'csi.cert-manager.io/issuer-name': 'spoke-hub-ca' },
    });
  });
});
