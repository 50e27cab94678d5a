import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { serveHealth } from '@spoke/transport-core/utils';
import { SERVER_VERSION, apiGroupList, apiVersions, coreResources, listObject, noSuchResource, notFound, status } from './api-objects.js';
import type { EgressAccess } from './egress-access.js';
import { proxyRequest, proxyUpgrade, rawJsonError } from './http-proxy.js';
import type { Json } from './json.js';
import type { EgressMetrics } from './metrics.js';
import { isTarget, type ProxyTargets, type Resolved } from './proxy-targets.js';
import type { ClusterResources } from './resources.js';
import { send, sendText } from './responses.js';
import { matchesFields, matchesLabels } from './selectors.js';
import { nodeTable, podTable, serviceTable, wantsTable } from './tables.js';

type ToTable = (items: Json[]) => Json;

/** A request path split into decoded segments. */
function parsePath(req: http.IncomingMessage): { url: URL; parts: string[] } {
  const url = new URL(req.url ?? '/', 'https://control-plane');
  const parts = url.pathname
    .split('/')
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
  return { url, parts };
}

/**
 * The API paths: discovery, health and metrics, reads of nodes, pods,
 * services and namespaces (JSON or Table, with label and field selectors),
 * and the subresources that are proxied: plain requests here, upgrades
 * (exec, attach, port-forward, WebSocket through a proxy) in {@link upgrade}.
 */
export class Routes {
  constructor(
    private readonly resources: ClusterResources,
    private readonly targets: ProxyTargets,
    private readonly egress: EgressAccess,
    private readonly metrics: EgressMetrics,
    /** Aborted when the control plane shuts down: ends proxied streams. */
    private readonly lifetime: AbortSignal,
  ) {}

  async request(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { url, parts } = parsePath(req);
    const [p0, p1] = parts;
    if (url.pathname === '/version' || url.pathname === '/version/') return send(res, SERVER_VERSION);
    if (serveHealth(req, res, { metrics: () => this.metrics.render() })) return;
    // Upstream also answers each named check (`/healthz/ping`, `/livez/etcd`); this server has no failing ones.
    if (p0 === 'healthz' || p0 === 'livez' || p0 === 'readyz') return sendText(res, 200, 'ok');
    if (url.pathname === '/api' || url.pathname === '/api/') return send(res, apiVersions(`${req.headers.host ?? ''}`));
    if (url.pathname === '/apis' || url.pathname === '/apis/') return send(res, apiGroupList());
    if (p0 !== 'api' || p1 !== 'v1') return send(res, noSuchResource());
    const rest = parts.slice(2);
    const [r0, r1, r2] = rest;
    if (r0 === undefined) return send(res, coreResources());
    const list = (kind: string, items: Json[], toTable: ToTable): void => sendList(res, req.headers.accept, kind, items, toTable, url);

    if (r0 === 'nodes') {
      if (r1 === undefined) return list('NodeList', await this.resources.nodeObjects(), nodeTable);
      if (r2 === 'proxy') return this.proxy(req, res, this.targets.node(r1, rest.slice(3), url));
      const node = this.resources.node(r1);
      if (!node || r2 !== undefined) return send(res, notFound('nodes', r1));
      return sendOne(res, req.headers.accept, await this.resources.nodeObject(node), nodeTable);
    }
    if (r0 === 'pods' && r1 === undefined)
      return list(
        'PodList',
        (await this.resources.pods()).map((p) => p.pod),
        podTable,
      );
    if (r0 === 'services' && r1 === undefined)
      return list(
        'ServiceList',
        this.resources.services().map((s) => this.resources.serviceObject(s)),
        serviceTable,
      );
    if (r0 === 'namespaces') {
      if (r1 === undefined) {
        const names = [...(await this.resources.namespaces())];
        return send(
          res,
          listObject(
            'NamespaceList',
            names.map((n) => this.resources.namespaceObject(n)),
            {},
          ),
        );
      }
      if (r2 === undefined) {
        const exists = (await this.resources.namespaces()).has(r1);
        return send(res, exists ? this.resources.namespaceObject(r1) : notFound('namespaces', r1));
      }
      if (r2 === 'pods') return this.pod(req, res, url, r1, rest.slice(3));
      if (r2 === 'services') return this.service(req, res, url, r1, rest.slice(3));
    }
    return send(res, noSuchResource());
  }

  /** An upgrade request: resolves its target, then hands the socket over (or answers with a Status and closes it). */
  async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { url, parts } = parsePath(req);
    const deadline = this.egress.deadline();
    try {
      const target = await this.upgradeTarget(parts, url);
      if (!target) return rawJsonError(socket, 404, noSuchResource());
      if (!isTarget(target)) return rawJsonError(socket, (target.code as number) ?? 400, target);
      await proxyUpgrade(req, socket, head, target, deadline.signal);
    } finally {
      deadline.clear();
    }
  }

  /** `/api/v1/namespaces/{ns}/pods[/{name}[/{sub}...]]`. */
  private async pod(req: http.IncomingMessage, res: http.ServerResponse, url: URL, ns: string, rest: string[]): Promise<void> {
    const [name, sub] = rest;
    if (name === undefined)
      return sendList(
        res,
        req.headers.accept,
        'PodList',
        (await this.resources.pods(ns)).map((p) => p.pod),
        podTable,
        url,
      );
    if (sub === 'proxy') return this.proxy(req, res, await this.targets.pod(ns, name, rest.slice(2), url));
    const placed = await this.resources.findPod(ns, name);
    if (!placed) return send(res, notFound('pods', name));
    if (sub === undefined) return sendOne(res, req.headers.accept, placed.pod, podTable);
    if (sub === 'log') return this.proxy(req, res, this.targets.log(placed, url));
    if (sub === 'exec' || sub === 'attach' || sub === 'portforward')
      return send(res, status(400, 'BadRequest', `Upgrade request required: ${sub} needs a WebSocket or SPDY/3.1 upgrade`));
    return send(res, noSuchResource());
  }

  /** `/api/v1/namespaces/{ns}/services[/{name}[/proxy...]]`. */
  private async service(req: http.IncomingMessage, res: http.ServerResponse, url: URL, ns: string, rest: string[]): Promise<void> {
    const [name, sub] = rest;
    if (name === undefined) {
      const items = this.resources.services(ns).map((s) => this.resources.serviceObject(s));
      return sendList(res, req.headers.accept, 'ServiceList', items, serviceTable, url);
    }
    if (sub === 'proxy') return this.proxy(req, res, await this.targets.service(ns, name, rest.slice(2), url));
    const svc = this.resources.findService(ns, name);
    if (!svc || sub !== undefined) return send(res, notFound('services', name));
    return sendOne(res, req.headers.accept, this.resources.serviceObject(svc), serviceTable);
  }

  /** The target of an upgrade path; undefined for a path that cannot be upgraded. */
  private upgradeTarget(parts: string[], url: URL): Resolved | Promise<Resolved> | undefined {
    const [p0, p1, r0, r1, r2, r3, r4] = parts;
    if (p0 !== 'api' || p1 !== 'v1' || r1 === undefined) return undefined;
    if (r0 === 'nodes' && r2 === 'proxy') return this.targets.node(r1, parts.slice(5), url);
    if (r0 !== 'namespaces' || r3 === undefined) return undefined;
    if (r2 === 'pods' && r4 === 'proxy') return this.targets.pod(r1, r3, parts.slice(7), url);
    if (r2 === 'services' && r4 === 'proxy') return this.targets.service(r1, r3, parts.slice(7), url);
    if (r2 === 'pods' && (r4 === 'exec' || r4 === 'attach' || r4 === 'portforward')) return this.targets.streaming(r1, r3, r4, url);
    return undefined;
  }

  private async proxy(req: http.IncomingMessage, res: http.ServerResponse, target: Resolved): Promise<void> {
    if (!isTarget(target)) return send(res, target);
    await proxyRequest(req, res, target, this.lifetime);
  }
}

/** A list, filtered by `?labelSelector=` and `?fieldSelector=`, as JSON or as a Table. */
function sendList(res: http.ServerResponse, accept: string | undefined, kind: string, items: Json[], toTable: ToTable, url: URL): void {
  const selected = items.filter(
    (o) => matchesLabels(o, url.searchParams.get('labelSelector')) && matchesFields(o, url.searchParams.get('fieldSelector')),
  );
  send(res, wantsTable(accept) ? toTable(selected) : listObject(kind, selected));
}

function sendOne(res: http.ServerResponse, accept: string | undefined, item: Json, toTable: ToTable): void {
  send(res, wantsTable(accept) ? toTable([item]) : item);
}
