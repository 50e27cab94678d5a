/** What a kubectl-style client did: its output and exit code. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * The five things the demo asks of the control plane, the way a user would:
 * either by running the real kubectl or by speaking the Kubernetes API
 * (HTTPS, WebSocket exec and port-forward) itself.
 */
export interface KubeClient {
  /** Shown above the table: which client ran the checks. */
  readonly description: string;
  /** How each check is spelled with this client, for the table's `check` column. */
  spell(check: 'nodes' | 'logs' | 'exec' | 'port-forward' | 'node-proxy'): string;
  /** Node name → Ready condition status (`True`, `False`, `Unknown`). */
  nodes(signal: AbortSignal): Promise<Map<string, string>>;
  /** The last `tail` lines of the pod's log. */
  logs(pod: string, tail: number, signal: AbortSignal): Promise<string>;
  /** Runs `argv` in the pod's container with `stdin`. */
  exec(pod: string, argv: string[], stdin: string, signal: AbortSignal): Promise<ExecResult>;
  /** Port-forwards the pod's `http` port and GETs `path` through it; resolves with the status and body. */
  portForwardGet(pod: string, path: string, signal: AbortSignal): Promise<{ status: number; body: string }>;
  /** GET of an API path (e.g. a node proxy path). */
  raw(path: string, signal: AbortSignal): Promise<string>;
}
