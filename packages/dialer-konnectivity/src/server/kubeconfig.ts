import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { SpokeError } from '@spoke/transport-core';
import { parseDocument, visit } from 'yaml';

/** How to reach and authenticate to a Kubernetes API server (what a kubeconfig's current context says). */
export interface KubeApiAccess {
  /** `https://host:port[/prefix]`. */
  server: string;
  /** CA bundle (PEM) that verifies the API server; system CAs when absent. */
  ca?: Buffer;
  /** `insecure-skip-tls-verify`. */
  insecure: boolean;
  /** `tls-server-name`. */
  serverName?: string;
  /** Client certificate and key (PEM). */
  cert?: Buffer;
  key?: Buffer;
  /** Bearer token; read again on every call so a rotated token file is picked up. */
  token?: () => string;
}

type Obj = { [key: string]: unknown };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Reads a kubeconfig (a path to a YAML or JSON file, or the parsed object)
 * and resolves its current context to a {@link KubeApiAccess}. Relative file
 * paths in it are relative to the kubeconfig's directory, as kubectl does.
 */
export function loadKubeconfig(source: string | Record<string, unknown>): KubeApiAccess {
  let doc: unknown = source;
  let base = process.cwd();
  const where = typeof source === 'string' ? source : 'the kubeconfig object';
  if (typeof source === 'string') {
    base = dirname(resolve(source));
    let text: string;
    try {
      text = readFileSync(source, 'utf8');
    } catch (err) {
      throw new SpokeError('ERR_BAD_CONFIG', `Cannot read kubeconfig ${source}: ${(err as Error).message}. Check --kubeconfig.`, {
        cause: err,
      });
    }
    doc = parseKubeconfigText(text, source);
  }
  const bad = (what: string): never => {
    throw new SpokeError('ERR_BAD_CONFIG', `Kubeconfig ${where}: ${what}. Check it with kubectl config view --kubeconfig=<file>.`);
  };
  if (!isObj(doc)) return bad('not a mapping');
  const named = (list: string, name: unknown, field: string): Obj => {
    const entries = doc[list];
    const hit = Array.isArray(entries) ? (entries as unknown[]).find((e) => isObj(e) && e.name === name) : undefined;
    const inner = isObj(hit) ? hit[field] : undefined;
    return isObj(inner) ? inner : bad(`no ${field} named ${JSON.stringify(name)} in ${list}`);
  };
  const current = doc['current-context'];
  if (typeof current !== 'string' || current === '') return bad('no current-context');
  const context = named('contexts', current, 'context');
  const cluster = named('clusters', context.cluster, 'cluster');
  const user = context.user === undefined || context.user === null ? {} : named('users', context.user, 'user');
  if (typeof cluster.server !== 'string' || !/^https?:\/\//.test(cluster.server))
    return bad(`cluster ${String(context.cluster)} has no https server URL`);
  const file = (obj: Obj, dataKey: string, pathKey: string): Buffer | undefined => {
    const data = obj[dataKey];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
    const path = obj[pathKey];
    if (typeof path !== 'string' || path === '') return undefined;
    const full = isAbsolute(path) ? path : resolve(base, path);
    try {
      return readFileSync(full);
    } catch (err) {
      throw new SpokeError('ERR_BAD_CONFIG', `Kubeconfig ${where}: cannot read ${pathKey} ${full}: ${(err as Error).message}.`, {
        cause: err,
      });
    }
  };
  const access: KubeApiAccess = {
    server: cluster.server.replace(/\/+$/, ''),
    insecure: cluster['insecure-skip-tls-verify'] === true || cluster['insecure-skip-tls-verify'] === 'true',
  };
  const ca = file(cluster, 'certificate-authority-data', 'certificate-authority');
  if (ca) access.ca = ca;
  if (typeof cluster['tls-server-name'] === 'string') access.serverName = cluster['tls-server-name'];
  const cert = file(user, 'client-certificate-data', 'client-certificate');
  const key = file(user, 'client-key-data', 'client-key');
  if ((cert === undefined) !== (key === undefined))
    bad(`user ${String(context.user)} has a client certificate without its key (or the reverse)`);
  if (cert && key) Object.assign(access, { cert, key });
  if (typeof user.token === 'string' && user.token !== '') {
    const token = user.token;
    access.token = () => token;
  } else if (typeof user.tokenFile === 'string' && user.tokenFile !== '') {
    const path = isAbsolute(user.tokenFile) ? user.tokenFile : resolve(base, user.tokenFile);
    access.token = () => readFileSync(path, 'utf8').trim();
  }
  return access;
}

/**
 * The in-cluster API access client-go uses without a kubeconfig:
 * `KUBERNETES_SERVICE_HOST`/`_PORT` and the pod's service-account token and CA.
 */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env): KubeApiAccess {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new SpokeError('ERR_BAD_CONFIG', 'Token review needs --kubeconfig outside a pod (KUBERNETES_SERVICE_HOST/PORT are not set).');
  }
  let ca: Buffer;
  try {
    ca = readFileSync(`${IN_CLUSTER_DIR}/ca.crt`);
  } catch (err) {
    throw new SpokeError(
      'ERR_BAD_CONFIG',
      `Cannot read the in-cluster CA ${IN_CLUSTER_DIR}/ca.crt: ${(err as Error).message}. Give --kubeconfig instead.`,
      { cause: err },
    );
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca,
    insecure: false,
    token: () => readFileSync(`${IN_CLUSTER_DIR}/token`, 'utf8').trim(),
  };
}

/**
 * Parses a kubeconfig file's text, YAML or JSON (JSON is YAML). Numbers keep
 * the text they were written as: every kubeconfig field that can look like one
 * (names, tokens) is a string to client-go, which reads YAML by the Go field's type.
 */
function parseKubeconfigText(text: string, where: string): unknown {
  const doc = parseDocument(text);
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new SpokeError(
      'ERR_BAD_CONFIG',
      `Kubeconfig ${where} is not valid YAML or JSON: ${first.message.split('\n')[0]}. Check it with kubectl config view --kubeconfig=<file>.`,
      { cause: first },
    );
  }
  visit(doc, {
    Scalar(_key, node) {
      if ((typeof node.value === 'number' || typeof node.value === 'bigint') && node.source !== undefined) node.value = node.source;
    },
  });
  return doc.toJS() as unknown;
}
