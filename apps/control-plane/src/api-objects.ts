/**
 * The JSON kubectl reads: discovery documents, Status errors and the API
 * objects this control plane serves (Node, Service, Namespace, lists).
 * Tables are in tables.ts.
 */
import type { Json } from './json.js';
import type { ControlPlaneNode, ControlPlaneService } from './options.js';

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

const PROXY_VERBS = ['create', 'delete', 'get', 'patch', 'update'];

/** `GET /api/v1`. */
export function coreResources(): Json {
  return {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      resource('nodes', 'Node', false, ['get', 'list'], { singularName: 'node', shortNames: ['no'] }),
      resource('nodes/proxy', 'NodeProxyOptions', false, PROXY_VERBS),
      resource('pods', 'Pod', true, ['get', 'list'], { singularName: 'pod', shortNames: ['po'], categories: ['all'] }),
      resource('pods/attach', 'PodAttachOptions', true, ['create', 'get']),
      resource('pods/exec', 'PodExecOptions', true, ['create', 'get']),
      resource('pods/log', 'Pod', true, ['get']),
      resource('pods/portforward', 'PodPortForwardOptions', true, ['create', 'get']),
      resource('pods/proxy', 'PodProxyOptions', true, PROXY_VERBS),
      resource('services', 'Service', true, ['get', 'list'], { singularName: 'service', shortNames: ['svc'], categories: ['all'] }),
      resource('services/proxy', 'ServiceProxyOptions', true, PROXY_VERBS),
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

/** The Status for a path this server does not serve. */
export function noSuchResource(): Json {
  return status(404, 'NotFound', 'the server could not find the requested resource');
}

/** A `kind: XList` document of `items`. */
export function listObject(kind: string, items: Json[], metadata: Json = { resourceVersion: '1' }): Json {
  return { kind, apiVersion: 'v1', metadata, items };
}

/** The Ready condition of a node, from its kubelet's `/healthz`. */
export interface NodeReadiness {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** A v1 Node for `node`; `egress` names the path it is reached by (annotation `spoke.dev/egress`). */
export function nodeObject(node: ControlPlaneNode, ready: NodeReadiness, egress: string, created: string, now: string): Json {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name: node.name,
      uid: `node-${node.name}`,
      creationTimestamp: created,
      labels: { 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', ...node.labels },
      annotations: { 'spoke.dev/egress': egress },
    },
    spec: {},
    status: {
      addresses: node.addresses,
      daemonEndpoints: { kubeletEndpoint: { Port: node.kubeletPort } },
      conditions: [{ type: 'Ready', ...ready, lastHeartbeatTime: now, lastTransitionTime: created }],
      nodeInfo: {
        kubeletVersion: SERVER_VERSION.gitVersion,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
        osImage: 'spoke sample node',
        kernelVersion: '',
        containerRuntimeVersion: 'spoke://local',
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  };
}

/** A v1 Service (always ClusterIP, TCP). */
export function serviceObject(svc: ControlPlaneService, created: string): Json {
  const namespace = svc.namespace ?? 'default';
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: { name: svc.name, namespace, uid: `svc-${namespace}-${svc.name}`, creationTimestamp: created },
    spec: {
      type: 'ClusterIP',
      selector: svc.selector,
      ports: svc.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: p.port,
        targetPort: p.targetPort ?? p.port,
        protocol: 'TCP',
      })),
    },
  };
}

/** A v1 Namespace (always Active). */
export function namespaceObject(name: string, created: string): Json {
  return { kind: 'Namespace', apiVersion: 'v1', metadata: { name, creationTimestamp: created }, status: { phase: 'Active' } };
}
