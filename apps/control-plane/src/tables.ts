/**
 * The server-side Table rendering of `kubectl get` (`Accept: ...;as=Table`):
 * each kind is a list of columns, each column knows how to read its cell.
 */
import { field, meta, scalarText, type Json } from './json.js';

/** True when the Accept header asks for a server-side Table. */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
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

/** A column of a Table; `priority: 1` columns show only with `-o wide`. */
interface Column {
  name: string;
  type?: string;
  format?: string;
  priority?: number;
  description?: string;
  cell(o: Json): unknown;
}

/** A meta.k8s.io/v1 Table; each row carries the object's metadata as PartialObjectMetadata. */
export function table(columns: Column[], items: Json[]): Json {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: '1' },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type ?? 'string',
      format: c.format ?? '',
      description: c.description ?? c.name,
      priority: c.priority ?? 0,
    })),
    rows: items.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(o) },
    })),
  };
}

const name: Column = { name: 'Name', format: 'name', cell: (o) => field(o, 'metadata', 'name') };
const ageColumn: Column = { name: 'Age', cell: (o) => age(field(o, 'metadata', 'creationTimestamp') as string) };
const list = (o: Json, ...path: string[]): Json[] => (field(o, ...path) as Json[] | undefined) ?? [];

const containerStatuses = (pod: Json): Json[] => list(pod, 'status', 'containerStatuses');
const POD_COLUMNS: Column[] = [
  name,
  {
    name: 'Ready',
    cell: (pod) => `${containerStatuses(pod).filter((s) => s.ready === true).length}/${containerStatuses(pod).length}`,
  },
  { name: 'Status', cell: (pod) => field(pod, 'status', 'phase') ?? 'Unknown' },
  { name: 'Restarts', cell: (pod) => String(containerStatuses(pod).reduce((n, s) => n + Number(s.restartCount ?? 0), 0)) },
  ageColumn,
  { name: 'IP', priority: 1, cell: (pod) => field(pod, 'status', 'podIP') ?? '<none>' },
  { name: 'Node', priority: 1, cell: (pod) => field(pod, 'spec', 'nodeName') ?? '<none>' },
];

const address = (node: Json, type: string): string =>
  scalarText(list(node, 'status', 'addresses').find((a) => a.type === type)?.address ?? '<none>');
const NODE_COLUMNS: Column[] = [
  name,
  {
    name: 'Status',
    cell: (node) => (list(node, 'status', 'conditions').find((c) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady'),
  },
  { name: 'Roles', cell: () => '<none>' },
  ageColumn,
  { name: 'Version', cell: (node) => field(node, 'status', 'nodeInfo', 'kubeletVersion') ?? '' },
  { name: 'Internal-IP', priority: 1, cell: (node) => address(node, 'InternalIP') },
  { name: 'External-IP', priority: 1, cell: (node) => address(node, 'ExternalIP') },
  { name: 'Egress', priority: 1, cell: (node) => field(node, 'metadata', 'annotations', 'spoke.dev/egress') ?? '' },
];

const SERVICE_COLUMNS: Column[] = [
  name,
  { name: 'Type', cell: () => 'ClusterIP' },
  {
    name: 'Ports',
    cell: (svc) =>
      list(svc, 'spec', 'ports')
        .map((p) => `${String(p.port)}/TCP`)
        .join(',') || '<none>',
  },
  ageColumn,
];

/** `kubectl get pods` columns. */
export const podTable = (pods: Json[]): Json => table(POD_COLUMNS, pods);
/** `kubectl get nodes` columns. */
export const nodeTable = (nodes: Json[]): Json => table(NODE_COLUMNS, nodes);
/** `kubectl get services` columns. */
export const serviceTable = (services: Json[]): Json => table(SERVICE_COLUMNS, services);
