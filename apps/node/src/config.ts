import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SpokeError, type Logger } from '@spoke/transport-core';
import { parse } from 'yaml';

/** A port a container declares (`spec.containers[].ports[]`). */
export interface ContainerPortConfig {
  /** Optional IANA-style name (`http`), usable in `kubectl port-forward pod/x http`-style lookups. */
  name?: string;
  /** The port on 127.0.0.1 (the node's stand-in for the pod network). */
  containerPort: number;
}

/**
 * A "container": a few local things that stand in for a real one. Any mix of:
 * - `command`: a long-running process; its stdout/stderr are the container log and `attach` talks to it;
 * - `logFile`: a file whose lines (including those appended later) are the container log;
 * - `http`: a small built-in HTTP server on 127.0.0.1 (its port is added to `ports`).
 * `exec` always runs a fresh process in `workingDir` with `env`.
 */
export interface ContainerConfig {
  name: string;
  /** Shown as the image. Default `spoke/local`. */
  image?: string;
  command?: string[];
  /** Keep stdin of `command` open for `kubectl attach -i`. Default false. */
  stdin?: boolean;
  /**
   * Run `command` on a pseudo-terminal (needs python3), so `kubectl attach -t`
   * resizes reach it; its log is then the terminal's output. Default false.
   */
  tty?: boolean;
  logFile?: string;
  http?: {
    /** Port on 127.0.0.1; 0 (default) picks one, reported as the containerPort. */
    port?: number;
    /** Response body. Default `hello from <pod>/<container>\n`. */
    body?: string;
    /** Port name. Default `http`. */
    portName?: string;
  };
  ports?: ContainerPortConfig[];
  /** Working directory of `command` and exec'd processes. Default the node's cwd. */
  workingDir?: string;
  /** Extra environment of `command` and exec'd processes (PATH and HOME are inherited). */
  env?: Record<string, string>;
}

/** A pod on this node. */
export interface PodConfig {
  /** Default `default`. */
  namespace?: string;
  name: string;
  labels?: Record<string, string>;
  containers: ContainerConfig[];
}

/** Options of {@link createNode}. PEM material is text, not paths ({@link loadNodeConfig} reads files). */
export interface NodeConfig {
  /** Node name (`spec.nodeName` of its pods). */
  name: string;
  /** Bind address. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 (default) picks one. */
  port?: number;
  tls: {
    /** PEM serving certificate (signed by the cluster CA, SANs for the address the control plane dials). */
    cert: string;
    /** PEM private key. */
    key: string;
    /** PEM CA bundle that client certificates must chain to (the control plane's kubelet-client CA). */
    clientCa: string;
  };
  pods: PodConfig[];
  /**
   * How long exec/attach over SPDY waits for the client to open its streams,
   * and port-forward for the second stream of a pair. Default 30000 (the kubelet's).
   */
  streamCreationTimeoutMs?: number;
  /** Logger; default silent. */
  logger?: Logger;
}

/**
 * Reads a node configuration file (YAML or JSON). `tls.certFile`, `tls.keyFile`
 * and `tls.clientCaFile` are read; relative paths (also `logFile`) resolve
 * against the file's directory.
 */
export function loadNodeConfig(path: string): NodeConfig {
  const base = dirname(resolve(path));
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SpokeError(
      'ERR_BAD_CONFIG',
      `Cannot read node config ${path}: ${(err as Error).message}. Check that the file exists and is YAML.`,
      { cause: err },
    );
  }
  const doc = raw as Partial<NodeConfig> & { tls?: { certFile?: string; keyFile?: string; clientCaFile?: string } };
  if (typeof doc?.name !== 'string' || !doc.tls || !Array.isArray(doc.pods)) {
    throw new SpokeError('ERR_BAD_CONFIG', `Node config ${path} needs "name", "tls" (certFile, keyFile, clientCaFile) and "pods".`);
  }
  const file = (p: string | undefined, what: string): string => {
    if (!p) throw new SpokeError('ERR_BAD_CONFIG', `Node config ${path}: tls.${what} is required.`);
    return readFileSync(resolve(base, p), 'utf8');
  };
  return {
    name: doc.name,
    ...(doc.host !== undefined ? { host: doc.host } : {}),
    ...(doc.port !== undefined ? { port: doc.port } : {}),
    ...(doc.streamCreationTimeoutMs !== undefined ? { streamCreationTimeoutMs: doc.streamCreationTimeoutMs } : {}),
    tls: {
      cert: file(doc.tls.certFile, 'certFile'),
      key: file(doc.tls.keyFile, 'keyFile'),
      clientCa: file(doc.tls.clientCaFile, 'clientCaFile'),
    },
    pods: doc.pods.map((pod) => ({
      ...pod,
      containers: pod.containers.map((c) => ({
        ...c,
        ...(c.logFile !== undefined ? { logFile: resolve(base, c.logFile) } : {}),
        ...(c.workingDir !== undefined ? { workingDir: resolve(base, c.workingDir) } : {}),
      })),
    })),
  };
}
