/**
 * The JSON kubectl reads: discovery documents, Status errors and the
 * server-side Table rendering of `kubectl get`.
 */

/** Kubernetes version this control plane claims (kubectl warns beyond one minor of skew). */
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-spoke',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'n/a',
  compiler: 'node',
  platform: 'linux/amd64',
};

type Json = Record<string, unknown>;

/** `GET /api`. */
export function apiVersions(serverAddress: string): Json {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** `GET /apis`: no groups beyond core. */
export function apiGroupList(): Json {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
}

const resource = (name: string, kind: string, namespaced: boolean, verbs: string[], extra: Json = {}): Json => ({
  name,
  singularName: '',
  namespaced,
  kind,
  verbs,
  ...extra,
});

/** `GET /api/v1`. */
export function coreResources(): Json {
  return {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      resource('nodes', 'Node', false, ['get', 'list'], { singularName: 'node', shortNames: ['no'] }),
      resource('nodes/proxy', 'NodeProxyOptions', false, ['create', 'delete', 'get', 'patch', 'update']),
      resource('pods', 'Pod', true, ['get', 'list'], { singularName: 'pod', shortNames: ['po'], categories: ['all'] }),
      resource('pods/attach', 'PodAttachOptions', true, ['create', 'get']),
      resource('pods/exec', 'PodExecOptions', true, ['create', 'get']),
      resource('pods/log', 'Pod', true, ['get']),
      resource('pods/portforward', 'PodPortForwardOptions', true, ['create', 'get']),
      resource('pods/proxy', 'PodProxyOptions', true, ['create', 'delete', 'get', 'patch', 'update']),
      resource('services', 'Service', true, ['get', 'list'], { singularName: 'service', shortNames: ['svc'], categories: ['all'] }),
      resource('services/proxy', 'ServiceProxyOptions', true, ['create', 'delete', 'get', 'patch', 'update']),
      resource('namespaces', 'Namespace', false, ['get', 'list'], { singularName: 'namespace', shortNames: ['ns'] }),
    ],
  };
}

/** A v1 Status error body. */
export function status(code: number, reason: string, message: string, details?: Json): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** The Status for a missing object. */
export function notFound(resource: string, name: string): Json {
  return status(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

/** `5m`, `3h`, `2d`: kubectl's age column. */
export function age(since: string | undefined, now = Date.now()): string {
  if (!since) return '<unknown>';
  const s = Math.max(0, Math.floor((now - new Date(since).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  description?: string;
}

/** A meta.k8s.io/v1 Table; each row carries the object's metadata as PartialObjectMetadata. */
export function table(columns: Column[], rows: Array<{ cells: unknown[]; object: Json }>): Json {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: '1' },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? c.name,
      priority: c.priority ?? 0,
    })),
    rows: rows.map((r) => ({
      cells: r.cells,
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: (r.object.metadata as Json | undefined) ?? {} },
    })),
  };
}

const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Json)[k] : undefined), o);

/** `kubectl get pods` columns. */
export function podTable(pods: Json[]): Json {
  return table(
    [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Ready', type: 'string' },
      { name: 'Status', type: 'string' },
      { name: 'Restarts', type: 'string' },
      { name: 'Age', type: 'string' },
      { name: 'IP', type: 'string', priority: 1 },
      { name: 'Node', type: 'string', priority: 1 },
    ],
    pods.map((pod) => {
      const statuses = (get(pod, 'status', 'containerStatuses') as Json[] | undefined) ?? [];
      const ready = statuses.filter((s) => s.ready === true).length;
      const restarts = statuses.reduce((n, s) => n + Number(s.restartCount ?? 0), 0);
      return {
        cells: [
          get(pod, 'metadata', 'name'),
          `${ready}/${statuses.length}`,
          get(pod, 'status', 'phase') ?? 'Unknown',
          String(restarts),
          age(get(pod, 'metadata', 'creationTimestamp') as string),
          get(pod, 'status', 'podIP') ?? '<none>',
          get(pod, 'spec', 'nodeName') ?? '<none>',
        ],
        object: pod,
      };
    }),
  );
}

/** `kubectl get nodes` columns. */
export function nodeTable(nodes: Json[]): Json {
  return table(
    [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Status', type: 'string' },
      { name: 'Roles', type: 'string' },
      { name: 'Age', type: 'string' },
      { name: 'Version', type: 'string' },
      { name: 'Internal-IP', type: 'string', priority: 1 },
      { name: 'External-IP', type: 'string', priority: 1 },
      { name: 'Egress', type: 'string', priority: 1 },
    ],
    nodes.map((node) => {
      const conditions = (get(node, 'status', 'conditions') as Json[] | undefined) ?? [];
      const ready = conditions.find((c) => c.type === 'Ready');
      const addresses = (get(node, 'status', 'addresses') as Json[] | undefined) ?? [];
      const addr = (type: string): string => String(addresses.find((a) => a.type === type)?.address ?? '<none>');
      return {
        cells: [
          get(node, 'metadata', 'name'),
          ready?.status === 'True' ? 'Ready' : 'NotReady',
          '<none>',
          age(get(node, 'metadata', 'creationTimestamp') as string),
          get(node, 'status', 'nodeInfo', 'kubeletVersion') ?? '',
          addr('InternalIP'),
          addr('ExternalIP'),
          (get(node, 'metadata', 'annotations') as Json | undefined)?.['spoke.dev/egress'] ?? '',
        ],
        object: node,
      };
    }),
  );
}

/** `kubectl get services` columns. */
export function serviceTable(services: Json[]): Json {
  return table(
    [
      { name: 'Name', type: 'string', format: 'name' },
      { name: 'Type', type: 'string' },
      { name: 'Ports', type: 'string' },
      { name: 'Age', type: 'string' },
    ],
    services.map((svc) => ({
      cells: [
        get(svc, 'metadata', 'name'),
        'ClusterIP',
        ((get(svc, 'spec', 'ports') as Json[] | undefined) ?? []).map((p) => `${String(p.port)}/TCP`).join(',') || '<none>',
        age(get(svc, 'metadata', 'creationTimestamp') as string),
      ],
      object: svc,
    })),
  );
}

/** True when the Accept header asks for a server-side Table. */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}
