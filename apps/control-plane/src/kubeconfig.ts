import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

/** What {@link kubeconfigYaml} needs. */
export interface KubeconfigOptions {
  /** `https://host:port` of the control plane. */
  server: string;
  /** PEM CA that signed the control plane's serving certificate. */
  ca: string;
  /** PEM client certificate and key (kubectl's identity). */
  cert: string;
  key: string;
  /** Cluster/context/user name. Default `spoke`. */
  name?: string;
  /** Default namespace of the context. */
  namespace?: string;
}

/** A kubeconfig with everything embedded (`*-data` fields), as YAML text. */
export function kubeconfigYaml(o: KubeconfigOptions): string {
  const name = o.name ?? 'spoke';
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: o.server, 'certificate-authority-data': b64(o.ca) } }],
    users: [{ name, user: { 'client-certificate-data': b64(o.cert), 'client-key-data': b64(o.key) } }],
    contexts: [{ name, context: { cluster: name, user: name, ...(o.namespace ? { namespace: o.namespace } : {}) } }],
    'current-context': name,
    preferences: {},
  });
}

/** Writes {@link kubeconfigYaml} to `path` with mode 0600 (it holds a private key). */
export function writeKubeconfig(path: string, o: KubeconfigOptions): void {
  writeFileSync(path, kubeconfigYaml(o), { mode: 0o600 });
}
