import { SpokeError, isAbortError, type Dialer } from '@spoke/transport-core';
import { createMetricsRegistry } from '@spoke/transport-core/utils';

/** Upstream's bucket boundaries for `apiserver_egress_dialer_dial_duration_seconds`. */
export const DIAL_DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.5, 2.5, 12.5] as const;

/** Labels of the egress dial metrics. */
export interface EgressLabels {
  /** `direct`, `http_connect`, `grpc`, or a custom dialer's kind. */
  protocol: string;
  /** `tcp` or `uds`. */
  transport: string;
}

/**
 * The egress dial metrics in kube-apiserver's names:
 * `apiserver_egress_dialer_dial_start_total`,
 * `apiserver_egress_dialer_dial_duration_seconds` (successes only) and
 * `apiserver_egress_dialer_dial_failure_count{stage}`, in Prometheus text
 * format (labels in name order, as client_golang writes them).
 */
export class EgressMetrics {
  private readonly registry = createMetricsRegistry();
  private readonly starts = this.registry.counter(
    'apiserver_egress_dialer_dial_start_total',
    'Egress dials started, by protocol and transport.',
  );
  private readonly durations = this.registry.histogram(
    'apiserver_egress_dialer_dial_duration_seconds',
    'Seconds to establish an egress connection (successful dials only), by protocol and transport.',
    DIAL_DURATION_BUCKETS,
  );
  private readonly failures = this.registry.counter(
    'apiserver_egress_dialer_dial_failure_count',
    'Failed egress dials, by protocol, transport and stage (connect or proxy).',
  );

  /** Wraps a dialer so every dial is counted under `labels`. */
  instrument(dialer: Dialer, labels: EgressLabels): Dialer {
    const series = { protocol: labels.protocol, transport: labels.transport };
    return {
      kind: dialer.kind,
      dial: async (target, options) => {
        this.starts.inc(series);
        const t0 = performance.now();
        try {
          const stream = await dialer.dial(target, options);
          this.durations.observe((performance.now() - t0) / 1000, series);
          return stream;
        } catch (err) {
          if (!isAbortError(err)) {
            // A proxy that answered but could not reach the node failed at the "proxy" stage.
            const stage =
              err instanceof SpokeError && (err.code === 'ERR_PROXY_STATUS' || (err.hop !== undefined && err.hop !== dialer.kind))
                ? 'proxy'
                : 'connect';
            this.failures.inc({ ...series, stage });
          }
          throw err;
        }
      },
      close: () => dialer.close(),
    };
  }

  /** Prometheus text exposition (version 0.0.4). */
  render(): string {
    return this.registry.render();
  }
}
