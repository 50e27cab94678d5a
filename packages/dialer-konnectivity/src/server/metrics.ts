/** Counters and gauges of the server, exposed under upstream's metric names. */
export class ServerMetrics {
  readonly dialFailures = new Map<string, number>();
  readonly grpcConnections = new Map<string, number>([
    ['Proxy', 0],
    ['Connect', 0],
  ]);
  httpConnections = 0;
  pendingDials = 0;
  established = 0;
  /** spoke only: connections closed because their front end stopped reading. */
  stalledFrontendCloses = 0;
  /** spoke only: agent connections refused by token authentication (static tokens or TokenReview). */
  agentAuthFailures = 0;

  dialFailure(reason: string): void {
    this.dialFailures.set(reason, (this.dialFailures.get(reason) ?? 0) + 1);
  }

  grpc(method: 'Proxy' | 'Connect', delta: number): void {
    this.grpcConnections.set(method, (this.grpcConnections.get(method) ?? 0) + delta);
  }

  /** Prometheus text exposition. */
  render(readyBackends: Record<string, number>, backends: number): string {
    const p = 'konnectivity_network_proxy_server';
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: Array<[string, number]>): void => {
      lines.push(`# HELP ${p}_${name} ${help}`, `# TYPE ${p}_${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`${p}_${name}${labels} ${v}`);
    };
    metric('ready_backend_connections', 'gauge', 'Number of konnectivity agent connected to the proxy server (deprecated)', [
      ['', backends],
    ]);
    metric(
      'ready_backends',
      'gauge',
      'Number of konnectivity agents usable per proxy strategy',
      Object.entries(readyBackends).map(([s, n]) => [`{proxy_strategy="${s}"}`, n]),
    );
    metric('pending_backend_dials', 'gauge', 'Current number of pending backend dial requests', [['', this.pendingDials]]);
    metric('established_connections', 'gauge', 'Current number of established end-to-end connections', [['', this.established]]);
    metric(
      'grpc_connections',
      'gauge',
      'Number of current grpc connections, partitioned by service method',
      [...this.grpcConnections].map(([m, n]) => [`{service_method="${m}"}`, n]),
    );
    metric('http_connections', 'gauge', 'Number of current HTTP CONNECT connections', [['', this.httpConnections]]);
    metric(
      'dial_failure_count',
      'counter',
      'Number of dial failures observed, by reason',
      [...this.dialFailures].map(([r, n]) => [`{reason="${r}"}`, n]),
    );
    metric('stalled_frontend_closes_total', 'counter', 'spoke: connections closed because their front end stopped reading', [
      ['', this.stalledFrontendCloses],
    ]);
    metric('agent_auth_failures_total', 'counter', 'spoke: agent connections refused by token authentication', [
      ['', this.agentAuthFailures],
    ]);
    return `${lines.join('\n')}\n`;
  }
}
