/**
 * Where each proxied request goes: the `nodes|pods|services/proxy`
 * subresources (any port in the node's network) and the kubelet-backed pod
 * subresources (`log`, `exec`, `attach`, `portforward`). Each resolver
 * returns a {@link ProxyTarget}, or the Status to answer instead.
 */
import { notFound, status } from './api-objects.js';
import type { EgressAccess } from './egress-access.js';
import type { ProxyTarget } from './http-proxy.js';
import { field, meta, scalarText, type Json } from './json.js';
import { splitSchemeNamePort } from './proxy-id.js';
import type { ClusterResources, PlacedPod } from './resources.js';

/** A target, or the Status that says why there is none. */
export type Resolved = ProxyTarget | Json;

export function isTarget(r: Resolved): r is ProxyTarget {
  return 'dialer' in r;
}

/** The pod subresources that need an upgraded connection. */
export type StreamingSubresource = 'exec' | 'attach' | 'portforward';

const LOG_PARAMS = ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes'];

export class ProxyTargets {
  constructor(
    private readonly resources: ClusterResources,
    private readonly egress: EgressAccess,
  ) {}

  /** `nodes/{[scheme:]name[:port]}/proxy/...`: the kubelet's port goes to the kubelet, any other to the node's address. */
  node(id: string, rest: string[], url: URL): Resolved {
    const parsed = splitSchemeNamePort(id);
    if (!parsed) return status(400, 'BadRequest', `invalid node request ${JSON.stringify(id)}`);
    const node = this.resources.node(parsed.name);
    if (!node) return notFound('nodes', parsed.name);
    const path = suffix(rest, url);
    if (parsed.port === '' || Number(parsed.port) === node.kubeletPort) return this.egress.kubeletTarget(node, path);
    const port = Number(parsed.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      return status(400, 'BadRequest', `invalid port ${JSON.stringify(parsed.port)} in node proxy request`);
    return this.egress.plainTarget(node, parsed.scheme, this.egress.addressOf(node), port, path);
  }

  /** `namespaces/{ns}/pods/{[scheme:]name[:port]}/proxy/...`: the pod IP, through the pod's node. */
  async pod(ns: string, id: string, rest: string[], url: URL): Promise<Resolved> {
    const parsed = splitSchemeNamePort(id);
    if (!parsed) return status(400, 'BadRequest', `invalid pod request ${JSON.stringify(id)}`);
    const placed = await this.resources.findPod(ns, parsed.name);
    if (!placed) return notFound('pods', parsed.name);
    const port = resolvePodPort(placed.pod, parsed.port);
    if (port === undefined) return status(400, 'BadRequest', `pod ${parsed.name} has no port ${JSON.stringify(parsed.port)}`);
    const ip = podIp(placed.pod);
    if (!ip) return status(503, 'ServiceUnavailable', `pod ${parsed.name} has no IP yet`);
    return this.egress.plainTarget(placed.node, parsed.scheme, ip, port, suffix(rest, url));
  }

  /** `namespaces/{ns}/services/{[scheme:]name[:port]}/proxy/...`: the first running pod the selector picks. */
  async service(ns: string, id: string, rest: string[], url: URL): Promise<Resolved> {
    const parsed = splitSchemeNamePort(id);
    if (!parsed) return status(400, 'BadRequest', `invalid service request ${JSON.stringify(id)}`);
    const svc = this.resources.findService(ns, parsed.name);
    if (!svc) return notFound('services', parsed.name);
    const svcPort = parsed.port === '' ? svc.ports[0] : svc.ports.find((p) => p.name === parsed.port || String(p.port) === parsed.port);
    if (!svcPort)
      return status(503, 'ServiceUnavailable', `no service port ${JSON.stringify(parsed.port)} found for service "${svc.name}"`);
    const selected = (await this.resources.pods(ns)).filter((p) =>
      Object.entries(svc.selector).every(([k, v]) => (meta(p.pod).labels as Json | undefined)?.[k] === v),
    );
    for (const placed of selected) {
      if (field(placed.pod, 'status', 'phase') !== 'Running') continue;
      const port = resolvePodPort(placed.pod, String(svcPort.targetPort ?? svcPort.port));
      const ip = podIp(placed.pod);
      if (port !== undefined && ip) return this.egress.plainTarget(placed.node, parsed.scheme, ip, port, suffix(rest, url));
    }
    return status(503, 'ServiceUnavailable', `no endpoints available for service "${svc.name}"`);
  }

  /** `pods/{name}/log`: the kubelet's `/containerLogs`, with kubectl's log options passed on. */
  log(placed: PlacedPod, url: URL): Resolved {
    const container = pickContainer(placed.pod, url.searchParams.get('container'));
    if (typeof container !== 'string') return container;
    const q = new URLSearchParams();
    for (const k of LOG_PARAMS) {
      const v = url.searchParams.get(k);
      if (v !== null) q.set(k, v);
    }
    const m = meta(placed.pod);
    return this.egress.kubeletTarget(placed.node, `/containerLogs/${enc(m.namespace)}/${enc(m.name)}/${enc(container)}${query(q)}`);
  }

  /** `pods/{name}/exec|attach|portforward`: the kubelet's streaming endpoint, with the query in its names. */
  async streaming(ns: string, name: string, sub: StreamingSubresource, url: URL): Promise<Resolved> {
    const placed = await this.resources.findPod(ns, name);
    if (!placed) return notFound('pods', name);
    if (sub === 'portforward') {
      const q = new URLSearchParams();
      for (const p of url.searchParams.getAll('ports')) q.append('port', p);
      return this.egress.kubeletTarget(placed.node, `/portForward/${enc(ns)}/${enc(name)}${query(q)}`);
    }
    const container = pickContainer(placed.pod, url.searchParams.get('container'));
    if (typeof container !== 'string') return container;
    const q = new URLSearchParams();
    const flag = (from: string, to: string): void => {
      if (['true', '1'].includes(url.searchParams.get(from) ?? '')) q.set(to, '1');
    };
    flag('stdin', 'input');
    flag('stdout', 'output');
    flag('stderr', 'error');
    flag('tty', 'tty');
    if (sub === 'exec') for (const c of url.searchParams.getAll('command')) q.append('command', c);
    return this.egress.kubeletTarget(placed.node, `/${sub}/${enc(ns)}/${enc(name)}/${enc(container)}?${q.toString()}`);
  }
}

function enc(v: unknown): string {
  return encodeURIComponent(String(v));
}

function query(q: URLSearchParams): string {
  return q.size ? `?${q.toString()}` : '';
}

/** The path after `.../proxy`, re-encoded, keeping a trailing slash and the query. */
function suffix(rest: string[], url: URL): string {
  const tail = rest.map(enc).join('/');
  const slash = url.pathname.endsWith('/') && rest.length > 0 ? '/' : '';
  return `/${tail}${slash}${url.search}`;
}

function podIp(pod: Json): string {
  return scalarText(field(pod, 'status', 'podIP'));
}

function containers(pod: Json): Json[] {
  return (field(pod, 'spec', 'containers') as Json[] | undefined) ?? [];
}

/** A port of the pod's containers: a number as is, a name by its containerPort, none: the first declared. */
function resolvePodPort(pod: Json, port: string): number | undefined {
  const ports = containers(pod).flatMap((c) => (c.ports as Json[] | undefined) ?? []);
  if (port === '') return ports.length > 0 ? Number(ports[0]?.containerPort) : undefined;
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port);
  return named ? Number(named.containerPort) : undefined;
}

/** The container a request means: the one named, or the only one; a 400 Status otherwise. */
function pickContainer(pod: Json, requested: string | null): string | Json {
  const names = containers(pod).map((c) => String(c.name));
  const podName = String(meta(pod).name);
  if (requested)
    return names.includes(requested) ? requested : status(400, 'BadRequest', `container ${requested} is not valid for pod ${podName}`);
  if (names.length === 1) return names[0] as string;
  return status(400, 'BadRequest', `a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
}
