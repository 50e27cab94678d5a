import { SpokeError, isAbortError, type Dialer } from '@spoke/transport-core';

/** Upstream's bucket boundaries for `apiserver_egress_dialer_dial_duration_seconds`. */
export const DIAL_DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.5, 2.5, 12.5] as const;

/** Labels of the egress dial metrics. */
export interface EgressLabels {
  /** `direct`, `http_connect`, `grpc`, or a custom dialer's kind. */
  protocol: string;
  /** `tcp` or `uds`. */
  transport: string;
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * The egress dial metrics in kube-apiserver's names:
 * `apiserver_egress_dialer_dial_start_total`,
 * `apiserver_egress_dialer_dial_duration_seconds` (successes only) and
 * `apiserver_egress_dialer_dial_failure_count{stage}`, in Prometheus text format.
 */
export class EgressMetrics {
  private readonly starts = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();
  private readonly failures = new Map<string, number>();

  /** Wraps a dialer so every dial is counted under `labels`. */
  instrument(dialer: Dialer, labels: EgressLabels): Dialer {
    const key = `protocol="${esc(labels.protocol)}",transport="${esc(labels.transport)}"`;
    return {
      kind: dialer.kind,
      dial: async (target, options) => {
        this.starts.set(key, (this.starts.get(key) ?? 0) + 1);
        const t0 = performance.now();
        try {
          const stream = await dialer.dial(target, options);
          this.observe(key, (performance.now() - t0) / 1000);
          return stream;
        } catch (err) {
          if (!isAbortError(err)) {
            // A proxy that answered but could not reach the node failed at the "proxy" stage.
            const stage =
              err instanceof SpokeError && (err.code === 'ERR_PROXY_STATUS' || (err.hop !== undefined && err.hop !== dialer.kind))
                ? 'proxy'
                : 'connect';
            const fkey = `${key},stage="${stage}"`;
            this.failures.set(fkey, (this.failures.get(fkey) ?? 0) + 1);
          }
          throw err;
        }
      },
      close: () => dialer.close(),
    };
  }

  private observe(key: string, seconds: number): void {
    const h = this.durations.get(key) ?? { buckets: DIAL_DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
    DIAL_DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count += 1;
    this.durations.set(key, h);
  }

  /** Prometheus text exposition (version 0.0.4). */
  render(): string {
    const out: string[] = [];
    out.push('# HELP apiserver_egress_dialer_dial_start_total Egress dials started, by protocol and transport.');
    out.push('# TYPE apiserver_egress_dialer_dial_start_total counter');
    for (const [k, v] of this.starts) out.push(`apiserver_egress_dialer_dial_start_total{${k}} ${v}`);
    out.push(
      '# HELP apiserver_egress_dialer_dial_duration_seconds Seconds to establish an egress connection (successful dials only), by protocol and transport.',
    );
    out.push('# TYPE apiserver_egress_dialer_dial_duration_seconds histogram');
    for (const [k, h] of this.durations) {
      DIAL_DURATION_BUCKETS.forEach((le, i) =>
        out.push(`apiserver_egress_dialer_dial_duration_seconds_bucket{${k},le="${le}"} ${h.buckets[i] ?? 0}`),
      );
      out.push(`apiserver_egress_dialer_dial_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
      out.push(`apiserver_egress_dialer_dial_duration_seconds_sum{${k}} ${h.sum}`);
      out.push(`apiserver_egress_dialer_dial_duration_seconds_count{${k}} ${h.count}`);
    }
    out.push('# HELP apiserver_egress_dialer_dial_failure_count Failed egress dials, by protocol, transport and stage (connect or proxy).');
    out.push('# TYPE apiserver_egress_dialer_dial_failure_count counter');
    for (const [k, v] of this.failures) out.push(`apiserver_egress_dialer_dial_failure_count{${k}} ${v}`);
    return `${out.join('\n')}\n`;
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
