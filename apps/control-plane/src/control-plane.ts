import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SpokeError, deadlineSignal, isAbortError, silentLogger, type Dialer, type Logger } from '@spoke/transport-core';
import {
  createEgressSelector,
  loadEgressSelectorConfiguration,
  type EgressBackends,
  type EgressSelectorConfiguration,
} from '@spoke/dialer-tls';
import {
  apiGroupList,
  apiVersions,
  coreResources,
  nodeTable,
  notFound,
  podTable,
  serviceTable,
  status,
  wantsTable,
  SERVER_VERSION,
} from './api-objects.js';
import { proxyRequest, proxyUpgrade, rawJsonError, type ProxyTarget } from './http-proxy.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { EgressMetrics, type EgressLabels } from './metrics.js';
import { DEFAULT_PREFERRED_ADDRESS_TYPES, NodeAccess, kubeletGet, preferredAddress, type NodeAddress } from './node-access.js';
import { splitSchemeNamePort } from './proxy-id.js';

type Json = Record<string, unknown>;

/** A node the control plane knows (what `kubectl get nodes` lists). */
export interface ControlPlaneNode {
  name: string;
  /** `status.addresses`; the preferred types pick the one dialled. */
  addresses: NodeAddress[];
  /** The kubelet's HTTPS port (`daemonEndpoints.kubeletEndpoint.Port`). */
  kubeletPort: number;
  labels?: Record<string, string>;
  /**
   * Overrides the egress `cluster` dialer for this node only (a demo whose
   * nodes share 127.0.0.1 but are reached by different paths).
   */
  dialer?: Dialer;
  /** Metric labels for `dialer`. Default `{ protocol: dialer.kind, transport: 'tcp' }`. */
  dialerLabels?: EgressLabels;
  /** Shown in the wide node table's Egress column (e.g. `ssh`). */
  egressLabel?: string;
}

/** A service: `selector` picks pods, `ports` map to container ports (number or port name). */
export interface ControlPlaneService {
  namespace?: string;
  name: string;
  selector: Record<string, string>;
  ports: Array<{ name?: string; port: number; targetPort?: number | string }>;
}

/** Options of {@link createControlPlane}. PEM material is text. */
export interface ControlPlaneOptions {
  /** Bind address. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 (default) picks one. */
  port?: number;
  /** Serving certificate and key, and the CA client certificates (kubectl's) must chain to. */
  tls: { cert: string; key: string; clientCa: string };
  nodes: ControlPlaneNode[];
  services?: ControlPlaneService[];
  /** An `EgressSelectorConfiguration`: a path, YAML text, or a loaded object. None: everything is direct. */
  egressConfig?: string | EgressSelectorConfiguration;
  /** Backends for the egress selector (e.g. `grpc` from @spoke/dialer-konnectivity). */
  egressBackends?: EgressBackends;
  /** Instead of `egressConfig`: anything with `dialerFor('cluster')` (a custom SSH dialer, a hub...). */
  egressSelector?: { dialerFor(name: 'cluster'): Dialer; close?(): Promise<void> };
  /** Metric labels for a custom `egressSelector`. Default `{ protocol: dialer.kind, transport: 'tcp' }`. */
  egressLabels?: EgressLabels;
  /** `--kubelet-certificate-authority` (PEM). */
  kubeletCa: string;
  /** `--kubelet-client-certificate` / `--kubelet-client-key` (PEM). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  /** `--kubelet-preferred-address-types`. Default Hostname, InternalDNS, InternalIP, ExternalDNS, ExternalIP. */
  preferredAddressTypes?: readonly string[];
  /** `--kubelet-timeout` for dials and short kubelet calls. Default 5000 ms. */
  kubeletTimeoutMs?: number;
  logger?: Logger;
}

/** A running control plane. */
export interface ControlPlane {
  readonly host: string;
  readonly port: number;
  /** `https://host:port`. */
  readonly url: string;
  readonly metrics: EgressMetrics;
  /** A kubeconfig (YAML) for this server: `ca` signed its serving cert, `cert`/`key` are the user's. */
  kubeconfig(user: { ca: string; cert: string; key: string; namespace?: string }): string;
  /** Stops accepting, ends streams and pooled connections. */
  close(): Promise<void>;
}

/**
 * Starts an API-server-shaped HTTPS server for kubectl: discovery, nodes,
 * pods and services (with Table output), `pods/log`, `pods/exec`,
 * `pods/attach`, `pods/portforward` and the `nodes|pods|services/proxy`
 * subresources. Every connection to a node goes through the egress
 * selector's `cluster` dialer (or the node's own), to the address the
 * preferred address types pick, with kubelet TLS verified against `kubeletCa`.
 * Upgrades are proxied as upgrades.
 *
 * @example
 * ```ts
 * const cp = await createControlPlane({ tls, nodes, kubeletCa, kubeletClientCert, kubeletClientKey }, { signal: AbortSignal.timeout(5000) });
 * writeFileSync('kubeconfig', cp.kubeconfig({ ca, cert: admin.cert, key: admin.key }));
 * ```
 */
export async function createControlPlane(options: ControlPlaneOptions, startOptions: { signal?: AbortSignal } = {}): Promise<ControlPlane> {
  const logger = (options.logger ?? silentLogger).child({ component: 'control-plane' });
  const timeoutMs = options.kubeletTimeoutMs ?? 5000;
  const preferred = options.preferredAddressTypes ?? DEFAULT_PREFERRED_ADDRESS_TYPES;
  const metrics = new EgressMetrics();
  const created = new Date().toISOString().replace(/\.\d+Z$/, 'Z');

  const ownSelector = options.egressSelector === undefined;
  const config = typeof options.egressConfig === 'string' ? loadEgressSelectorConfiguration(options.egressConfig) : options.egressConfig;
  const selector = options.egressSelector ?? createEgressSelector(config, options.egressBackends);
  const clusterLabels = options.egressLabels ?? labelsFromConfig(config);
  let clusterDialer: Dialer | undefined;
  const cluster = (): Dialer => {
    if (!clusterDialer) {
      const d = selector.dialerFor('cluster');
      clusterDialer = metrics.instrument(d, clusterLabels ?? { protocol: d.kind, transport: 'tcp' });
    }
    return clusterDialer;
  };

  const tls = { ca: options.kubeletCa, cert: options.kubeletClientCert, key: options.kubeletClientKey };
  const access = new Map<string, NodeAccess>();
  const accessFor = (node: ControlPlaneNode): NodeAccess => {
    let a = access.get(node.name);
    if (!a) {
      const raw = node.dialer
        ? metrics.instrument(node.dialer, node.dialerLabels ?? { protocol: node.dialer.kind, transport: 'tcp' })
        : cluster();
      a = new NodeAccess(raw, tls, timeoutMs);
      access.set(node.name, a);
    }
    return a;
  };
  const nodesByName = new Map(options.nodes.map((n) => [n.name, n]));

  const server = https.createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    ca: options.tls.clientCa,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  server.requestTimeout = 0;
  const sockets = new Set<Socket>();
  const upgraded = new Set<Duplex>();
  const lifetime = new AbortController();
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  server.on('request', (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err as Error;
      logger.warn('request failed', { method: req.method, path: req.url, error: e.message });
      if (!res.headersSent) send(res, backendError(e));
      else res.destroy();
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
    handleUpgrade(req, socket, head).catch((err: unknown) => {
      const e = err as Error;
      logger.warn('upgrade failed', { path: req.url, error: e.message });
      const s = backendError(e);
      rawJsonError(socket, s.code as number, s);
    });
  });

  // ---- reads -------------------------------------------------------------

  async function nodeObject(node: ControlPlaneNode): Promise<Json> {
    let ready = { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' };
    try {
      const host = preferredAddress(node.name, node.addresses, preferred);
      const answer = await kubeletGet(
        accessFor(node),
        host,
        node.kubeletPort,
        '/healthz',
        deadlineSignal(timeoutMs, lifetime.signal).signal,
      );
      if (answer.status !== 200)
        ready = { status: 'False', reason: 'KubeletNotReady', message: `kubelet /healthz answered ${answer.status}` };
    } catch (err) {
      ready = { status: 'Unknown', reason: 'NodeUnreachable', message: (err as Error).message };
    }
    return {
      kind: 'Node',
      apiVersion: 'v1',
      metadata: {
        name: node.name,
        uid: `node-${node.name}`,
        creationTimestamp: created,
        labels: { 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', ...node.labels },
        annotations: { 'spoke.dev/egress': node.egressLabel ?? node.dialer?.kind ?? clusterLabels?.protocol ?? 'direct' },
      },
      spec: {},
      status: {
        addresses: node.addresses,
        daemonEndpoints: { kubeletEndpoint: { Port: node.kubeletPort } },
        conditions: [
          { type: 'Ready', ...ready, lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: created },
        ],
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

  interface PlacedPod {
    pod: Json;
    node: ControlPlaneNode;
  }

  async function listPods(): Promise<PlacedPod[]> {
    const all = await Promise.all(
      options.nodes.map(async (node) => {
        try {
          const host = preferredAddress(node.name, node.addresses, preferred);
          const answer = await kubeletGet(
            accessFor(node),
            host,
            node.kubeletPort,
            '/pods',
            deadlineSignal(timeoutMs, lifetime.signal).signal,
          );
          if (answer.status !== 200) return [];
          const list = JSON.parse(answer.body) as { items?: Json[] };
          return (list.items ?? []).map((pod) => ({ pod, node }));
        } catch (err) {
          logger.debug('cannot list pods of node', { node: node.name, error: (err as Error).message });
          return [];
        }
      }),
    );
    return all.flat();
  }

  async function findPod(namespace: string, name: string): Promise<PlacedPod | undefined> {
    return (await listPods()).find((p) => meta(p.pod).namespace === namespace && meta(p.pod).name === name);
  }

  function serviceObject(svc: ControlPlaneService): Json {
    return {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: {
        name: svc.name,
        namespace: svc.namespace ?? 'default',
        uid: `svc-${svc.namespace ?? 'default'}-${svc.name}`,
        creationTimestamp: created,
      },
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

  // ---- request routing --------------------------------------------------

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://control-plane');
    const parts = url.pathname
      .split('/')
      .filter((p) => p.length > 0)
      .map(decodeURIComponent);
    const accept = req.headers.accept;
    const [p0, p1] = parts;
    if (url.pathname === '/version' || url.pathname === '/version/') return send(res, SERVER_VERSION);
    if (p0 === 'healthz' || p0 === 'livez' || p0 === 'readyz') return sendText(res, 200, 'ok');
    if (url.pathname === '/metrics') return sendText(res, 200, metrics.render(), 'text/plain; version=0.0.4');
    if (url.pathname === '/api' || url.pathname === '/api/') return send(res, apiVersions(`${req.headers.host ?? ''}`));
    if (url.pathname === '/apis' || url.pathname === '/apis/') return send(res, apiGroupList());
    if (p0 !== 'api' || p1 !== 'v1') return send(res, status(404, 'NotFound', 'the server could not find the requested resource'));
    const rest = parts.slice(2);
    if (rest.length === 0) return send(res, coreResources());

    const [r0, r1, r2, r3, r4] = rest;
    // /api/v1/nodes...
    if (r0 === 'nodes') {
      if (r1 === undefined) return list(res, accept, 'NodeList', await Promise.all(options.nodes.map(nodeObject)), nodeTable, url);
      if (r2 === 'proxy') return nodeProxy(req, res, r1, rest.slice(3), url);
      const node = nodesByName.get(r1);
      if (!node || r2 !== undefined) return send(res, notFound('nodes', r1));
      return one(res, accept, await nodeObject(node), nodeTable);
    }
    if (r0 === 'pods' && r1 === undefined)
      return list(
        res,
        accept,
        'PodList',
        (await listPods()).map((p) => p.pod),
        podTable,
        url,
      );
    if (r0 === 'services' && r1 === undefined)
      return list(res, accept, 'ServiceList', (options.services ?? []).map(serviceObject), serviceTable, url);
    if (r0 === 'namespaces') {
      const names = new Set(['default', ...(options.services ?? []).map((s) => s.namespace ?? 'default')]);
      for (const p of await listPods()) names.add(String(meta(p.pod).namespace));
      const nsObject = (n: string): Json => ({
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: { name: n, creationTimestamp: created },
        status: { phase: 'Active' },
      });
      if (r1 === undefined) return send(res, { kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [...names].map(nsObject) });
      if (r2 === undefined) return names.has(r1) ? send(res, nsObject(r1)) : send(res, notFound('namespaces', r1));
      const ns = r1;
      if (r2 === 'pods') {
        if (r3 === undefined)
          return list(
            res,
            accept,
            'PodList',
            (await listPods()).map((p) => p.pod).filter((p) => meta(p).namespace === ns),
            podTable,
            url,
          );
        if (r4 === 'proxy') return podProxy(req, res, ns, r3, rest.slice(5), url);
        const placed = await findPod(ns, r3);
        if (!placed) return send(res, notFound('pods', r3));
        if (r4 === undefined) return one(res, accept, placed.pod, podTable);
        if (r4 === 'log') return podLog(req, res, placed, url);
        if (r4 === 'exec' || r4 === 'attach' || r4 === 'portforward') {
          return send(res, status(400, 'BadRequest', `Upgrade request required: ${r4} needs a WebSocket or SPDY/3.1 upgrade`));
        }
        return send(res, status(404, 'NotFound', 'the server could not find the requested resource'));
      }
      if (r2 === 'services') {
        if (r3 === undefined)
          return list(
            res,
            accept,
            'ServiceList',
            (options.services ?? []).filter((s) => (s.namespace ?? 'default') === ns).map(serviceObject),
            serviceTable,
            url,
          );
        if (r4 === 'proxy') return serviceProxy(req, res, ns, r3, rest.slice(5), url);
        const svc = (options.services ?? []).find((s) => (s.namespace ?? 'default') === ns && s.name === r3);
        if (!svc || r4 !== undefined) return send(res, notFound('services', r3));
        return one(res, accept, serviceObject(svc), serviceTable);
      }
    }
    return send(res, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  async function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://control-plane');
    const parts = url.pathname
      .split('/')
      .filter((p) => p.length > 0)
      .map(decodeURIComponent);
    const signal = deadlineSignal(timeoutMs, lifetime.signal).signal;
    const [p0, p1, r0, r1, r2, r3, r4] = parts;
    if (p0 !== 'api' || p1 !== 'v1')
      return rawJsonError(socket, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    let target: ProxyTarget | Json;
    if (r0 === 'nodes' && r1 !== undefined && r2 === 'proxy') target = await nodeProxyTarget(r1, parts.slice(5), url);
    else if (r0 === 'namespaces' && r1 !== undefined && r2 === 'pods' && r3 !== undefined && r4 === 'proxy')
      target = await podProxyTarget(r1, r3, parts.slice(7), url);
    else if (r0 === 'namespaces' && r1 !== undefined && r2 === 'services' && r3 !== undefined && r4 === 'proxy')
      target = await serviceProxyTarget(r1, r3, parts.slice(7), url);
    else if (
      r0 === 'namespaces' &&
      r1 !== undefined &&
      r2 === 'pods' &&
      r3 !== undefined &&
      (r4 === 'exec' || r4 === 'attach' || r4 === 'portforward')
    ) {
      target = await streamingTarget(r1, r3, r4, url);
    } else return rawJsonError(socket, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (!('dialer' in target)) return rawJsonError(socket, (target.code as number) ?? 400, target);
    await proxyUpgrade(req, socket, head, target as ProxyTarget, signal);
  }

  // ---- kubelet-backed subresources ---------------------------------------

  function kubeletTarget(node: ControlPlaneNode, path: string): ProxyTarget {
    const a = accessFor(node);
    return {
      dialer: a.kubelet,
      agent: a.agent(a.kubelet),
      host: preferredAddress(node.name, node.addresses, preferred),
      port: node.kubeletPort,
      path,
    };
  }

  function pickContainer(pod: Json, requested: string | null): string | Json {
    const names = (((pod.spec as Json | undefined)?.containers as Json[] | undefined) ?? []).map((c) => String(c.name));
    if (requested)
      return names.includes(requested)
        ? requested
        : status(400, 'BadRequest', `container ${requested} is not valid for pod ${String(meta(pod).name)}`);
    if (names.length === 1) return names[0] as string;
    return status(
      400,
      'BadRequest',
      `a container name must be specified for pod ${String(meta(pod).name)}, choose one of: [${names.join(' ')}]`,
    );
  }

  async function podLog(req: http.IncomingMessage, res: http.ServerResponse, placed: PlacedPod, url: URL): Promise<void> {
    const container = pickContainer(placed.pod, url.searchParams.get('container'));
    if (typeof container !== 'string') return send(res, container);
    const q = new URLSearchParams();
    for (const k of ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes']) {
      const v = url.searchParams.get(k);
      if (v !== null) q.set(k, v);
    }
    const m = meta(placed.pod);
    const path = `/containerLogs/${enc(m.namespace)}/${enc(m.name)}/${enc(container)}${q.size ? `?${q}` : ''}`;
    await proxyRequest(req, res, kubeletTarget(placed.node, path), AbortSignal.any([lifetime.signal]));
  }

  async function streamingTarget(ns: string, name: string, sub: 'exec' | 'attach' | 'portforward', url: URL): Promise<ProxyTarget | Json> {
    const placed = await findPod(ns, name);
    if (!placed) return notFound('pods', name);
    if (sub === 'portforward') {
      const q = new URLSearchParams();
      for (const p of url.searchParams.getAll('ports')) q.append('port', p);
      return kubeletTarget(placed.node, `/portForward/${enc(ns)}/${enc(name)}${q.size ? `?${q}` : ''}`);
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
    return kubeletTarget(placed.node, `/${sub}/${enc(ns)}/${enc(name)}/${enc(container)}?${q}`);
  }

  // ---- proxy subresources -------------------------------------------------

  function suffix(rest: string[], url: URL): string {
    const tail = rest.map(enc).join('/');
    const slash = url.pathname.endsWith('/') && rest.length > 0 ? '/' : '';
    return `/${tail}${slash}${url.search}`;
  }

  async function nodeProxyTarget(id: string, rest: string[], url: URL): Promise<ProxyTarget | Json> {
    const parsed = splitSchemeNamePort(id);
    if (!parsed) return status(400, 'BadRequest', `invalid node request ${JSON.stringify(id)}`);
    const node = nodesByName.get(parsed.name);
    if (!node) return notFound('nodes', parsed.name);
    const path = suffix(rest, url);
    if (parsed.port === '' || Number(parsed.port) === node.kubeletPort) return kubeletTarget(node, path);
    const port = Number(parsed.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      return status(400, 'BadRequest', `invalid port ${JSON.stringify(parsed.port)} in node proxy request`);
    return plainTarget(node, parsed.scheme, preferredAddress(node.name, node.addresses, preferred), port, path);
  }

  function plainTarget(node: ControlPlaneNode, scheme: string, host: string, port: number, path: string): ProxyTarget {
    const a = accessFor(node);
    // Upstream: proxying is IP-based, so https is encrypted but not verified and sends no client certificate.
    const dialer = scheme === 'https' ? a.insecureTls : a.raw;
    return { dialer, agent: a.agent(dialer), host, port, path };
  }

  async function podProxyTarget(ns: string, id: string, rest: string[], url: URL): Promise<ProxyTarget | Json> {
    const parsed = splitSchemeNamePort(id);
    if (!parsed) return status(400, 'BadRequest', `invalid pod request ${JSON.stringify(id)}`);
    const placed = await findPod(ns, parsed.name);
    if (!placed) return notFound('pods', parsed.name);
    const port = resolvePodPort(placed.pod, parsed.port);
    if (port === undefined) return status(400, 'BadRequest', `pod ${parsed.name} has no port ${JSON.stringify(parsed.port)}`);
    const ip = String((placed.pod.status as Json | undefined)?.podIP ?? '');
    if (!ip) return status(503, 'ServiceUnavailable', `pod ${parsed.name} has no IP yet`);
    return plainTarget(placed.node, parsed.scheme, ip, port, suffix(rest, url));
  }

  async function serviceProxyTarget(ns: string, id: string, rest: string[], url: URL): Promise<ProxyTarget | Json> {
    const parsed = splitSchemeNamePort(id);
    if (!parsed) return status(400, 'BadRequest', `invalid service request ${JSON.stringify(id)}`);
    const svc = (options.services ?? []).find((s) => (s.namespace ?? 'default') === ns && s.name === parsed.name);
    if (!svc) return notFound('services', parsed.name);
    const svcPort = parsed.port === '' ? svc.ports[0] : svc.ports.find((p) => p.name === parsed.port || String(p.port) === parsed.port);
    if (!svcPort)
      return status(503, 'ServiceUnavailable', `no service port ${JSON.stringify(parsed.port)} found for service "${svc.name}"`);
    const candidates = (await listPods()).filter(
      (p) =>
        meta(p.pod).namespace === ns && Object.entries(svc.selector).every(([k, v]) => (meta(p.pod).labels as Json | undefined)?.[k] === v),
    );
    for (const placed of candidates) {
      if ((placed.pod.status as Json | undefined)?.phase !== 'Running') continue;
      const port = resolvePodPort(placed.pod, String(svcPort.targetPort ?? svcPort.port));
      const ip = String((placed.pod.status as Json | undefined)?.podIP ?? '');
      if (port !== undefined && ip) return plainTarget(placed.node, parsed.scheme, ip, port, suffix(rest, url));
    }
    return status(503, 'ServiceUnavailable', `no endpoints available for service "${svc.name}"`);
  }

  async function nodeProxy(req: http.IncomingMessage, res: http.ServerResponse, id: string, rest: string[], url: URL): Promise<void> {
    return proxyTo(req, res, await nodeProxyTarget(id, rest, url));
  }
  async function podProxy(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ns: string,
    id: string,
    rest: string[],
    url: URL,
  ): Promise<void> {
    return proxyTo(req, res, await podProxyTarget(ns, id, rest, url));
  }
  async function serviceProxy(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ns: string,
    id: string,
    rest: string[],
    url: URL,
  ): Promise<void> {
    return proxyTo(req, res, await serviceProxyTarget(ns, id, rest, url));
  }
  async function proxyTo(req: http.IncomingMessage, res: http.ServerResponse, target: ProxyTarget | Json): Promise<void> {
    if (!('dialer' in target)) return send(res, target);
    await proxyRequest(req, res, target as ProxyTarget, lifetime.signal);
  }

  // ---- listen ---------------------------------------------------------------

  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      server.close();
      reject(startOptions.signal?.reason as Error);
    };
    if (startOptions.signal?.aborted) return onAbort();
    startOptions.signal?.addEventListener('abort', onAbort, { once: true });
    server.once('error', (err) =>
      reject(
        new SpokeError(
          'ERR_BAD_OPTION',
          `The control plane cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${err.message}. Pick a free port.`,
          { cause: err },
        ),
      ),
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      startOptions.signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.address;
  const urlText = `https://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  logger.info('control plane listening', { url: urlText });

  let closing: Promise<void> | undefined;
  return {
    host,
    port: address.port,
    url: urlText,
    metrics,
    kubeconfig: (user) =>
      kubeconfigYaml({
        server: urlText,
        ca: user.ca,
        cert: user.cert,
        key: user.key,
        ...(user.namespace ? { namespace: user.namespace } : {}),
      }),
    close() {
      closing ??= (async () => {
        lifetime.abort(new SpokeError('ERR_DIALER_CLOSED', 'The control plane is shutting down.'));
        const closed = new Promise<void>((r) => server.close(() => r()));
        for (const s of upgraded) s.destroy();
        for (const s of sockets) s.destroy();
        await closed;
        await Promise.all([...access.values()].map((a) => a.close()));
        if (ownSelector) await (selector as { close(): Promise<void> }).close();
        else await clusterDialer?.close();
      })();
      return closing;
    },
  };
}

// ---- helpers ------------------------------------------------------------------

function labelsFromConfig(config: EgressSelectorConfiguration | undefined): EgressLabels | undefined {
  const selection = config?.egressSelections.find((s) => s.name === 'cluster');
  if (!selection) return { protocol: 'direct', transport: 'tcp' };
  const c = selection.connection;
  if (c.proxyProtocol === 'Direct') return { protocol: 'direct', transport: 'tcp' };
  const transport = c.transport?.uds ? 'uds' : 'tcp';
  return { protocol: c.proxyProtocol === 'GRPC' ? 'grpc' : 'http_connect', transport };
}

function meta(o: Json): Json {
  return (o.metadata as Json | undefined) ?? {};
}

function enc(v: unknown): string {
  return encodeURIComponent(String(v));
}

function resolvePodPort(pod: Json, port: string): number | undefined {
  const ports = (((pod.spec as Json | undefined)?.containers as Json[] | undefined) ?? []).flatMap(
    (c) => (c.ports as Json[] | undefined) ?? [],
  );
  if (port === '') return ports.length > 0 ? Number(ports[0]?.containerPort) : undefined;
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port);
  return named ? Number(named.containerPort) : undefined;
}

function matchesLabels(obj: Json, selector: string | null): boolean {
  if (!selector) return true;
  const labels = (meta(obj).labels as Record<string, string> | undefined) ?? {};
  return selector.split(',').every((term) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*([^\s]*)\s*$/.exec(term);
    if (!m) return term.trim() === '' || (term.trim().startsWith('!') ? !(term.trim().slice(1) in labels) : term.trim() in labels);
    const [, key = '', op, value] = m;
    return op === '!=' ? labels[key] !== value : labels[key] === value;
  });
}

function matchesFields(obj: Json, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*([^\s]*)\s*$/.exec(term);
    if (!m) return true;
    const [, path = '', op, value] = m;
    const actual = path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Json)[k] : undefined), obj);
    return op === '!=' ? String(actual ?? '') !== value : String(actual ?? '') === value;
  });
}

function list(
  res: http.ServerResponse,
  accept: string | undefined,
  kind: string,
  items: Json[],
  toTable: (items: Json[]) => Json,
  url: URL,
): void {
  const selected = items.filter(
    (o) => matchesLabels(o, url.searchParams.get('labelSelector')) && matchesFields(o, url.searchParams.get('fieldSelector')),
  );
  if (wantsTable(accept)) return send(res, toTable(selected));
  send(res, { kind, apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: selected });
}

function one(res: http.ServerResponse, accept: string | undefined, item: Json, toTable: (items: Json[]) => Json): void {
  send(res, wantsTable(accept) ? toTable([item]) : item);
}

function send(res: http.ServerResponse, body: Json): void {
  const code = body.kind === 'Status' ? Number(body.code ?? 500) : 200;
  const data = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-cache, private',
  });
  res.end(data);
}

function sendText(res: http.ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The Status for a node the control plane could not reach (upstream: "error dialing backend"). */
function backendError(err: Error): Json {
  if (isAbortError(err)) return status(504, 'Timeout', `error dialing backend: ${err.message}`);
  const code = err instanceof SpokeError ? err.code : undefined;
  return status(
    code === 'ERR_NO_ROUTE' ? 503 : 502,
    'ServiceUnavailable',
    `error dialing backend: ${err.message}${code ? ` (${code})` : ''}`,
  );
}
