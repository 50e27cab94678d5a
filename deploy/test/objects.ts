import { parseAllDocuments, parse } from 'yaml';
import { helmPath } from '../tools/build-helm.mjs';
import { helm, CHART_DIR, EXAMPLES_DIR, NAMESPACE, RELEASE } from '../render.mjs';

// The few Kubernetes shapes the tests read (the API server validates the rest).
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
export interface Probe {
  httpGet?: { path: string; port: number | string; host?: string; scheme?: string };
}
export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number; hostPort?: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
export interface Volume {
  name: string;
  secret?: { secretName: string; defaultMode?: number; items?: Array<{ key: string; path: string }> };
  hostPath?: { path: string; type?: string };
  emptyDir?: { medium?: string; sizeLimit?: string };
  projected?: { sources: Array<{ serviceAccountToken?: { path: string; audience?: string } }> };
  csi?: { driver: string; readOnly?: boolean; volumeAttributes?: Record<string, string> };
}
export interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}
export interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: Array<{ apiGroup?: string; kind: string; name: string; namespace?: string }>;
}
/** A pod template wherever it comes from: a Deployment, a DaemonSet, or a static pod in a ConfigMap. */
export interface Workload {
  /** kind/name, or ConfigMap name/key for a static pod. */
  source: string;
  namespace: string;
  pod: PodSpec;
  podAnnotations: Record<string, string>;
}

/** `helm template` of one values example (or of `--set` values alone), parsed. */
export function render(example: string | undefined, set: readonly string[] = []): K8sObject[] {
  const args = ['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE];
  if (example !== undefined) args.push('-f', `${EXAMPLES_DIR}/${example}.yaml`);
  for (const s of set) args.push('--set', s);
  return parseObjects(helm(helmPath(), args));
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

/** The static Pod manifest a ConfigMap carries under `key`. */
export function staticPod(configMap: K8sObject, key: string): K8sObject {
  const text = configMap.data?.[key];
  if (text === undefined) throw new Error(`ConfigMap ${configMap.metadata.name} has no ${key}`);
  return parse(text) as K8sObject;
}

/** Every pod template of the rendered objects, static pods in ConfigMaps included. */
export function workloads(objects: readonly K8sObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    if (o.kind === 'Deployment' || o.kind === 'DaemonSet') {
      const template = o.spec?.template as { metadata?: Metadata; spec: PodSpec };
      out.push({
        source: `${o.kind}/${o.metadata.name}`,
        namespace: o.metadata.namespace ?? '',
        pod: template.spec,
        podAnnotations: template.metadata?.annotations ?? {},
      });
    }
    if (o.kind === 'ConfigMap')
      for (const key of Object.keys(o.data ?? {})) {
        const doc = parse(o.data?.[key] ?? '') as K8sObject | null;
        if (doc?.kind === 'Pod')
          out.push({
            source: `ConfigMap/${o.metadata.name}/${key}`,
            namespace: doc.metadata.namespace ?? '',
            pod: doc.spec as unknown as PodSpec,
            podAnnotations: doc.metadata.annotations ?? {},
          });
      }
  }
  return out;
}

/** The port number a probe or annotation names (a number, or a container port's name). */
export function portNumber(container: Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}
