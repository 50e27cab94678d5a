/** A tiny Prometheus text-format registry (counters, gauges, histograms with labels). */
export interface MetricsRegistry {
  counter(name: string, help: string): Counter;
  /**
   * A gauge; `collect` (optional) is read at every render: a number, or
   * `[labels, value]` pairs for a labelled gauge whose series come and go.
   */
  gauge(name: string, help: string, collect?: () => number | Iterable<readonly [Record<string, string>, number]>): Gauge;
  histogram(name: string, help: string, buckets: readonly number[]): Histogram;
  /** The exposition text (`text/plain; version=0.0.4`). */
  render(): string;
}
export interface Counter {
  inc(labels?: Record<string, string>, by?: number): void;
}
export interface Gauge {
  set(value: number, labels?: Record<string, string>): void;
}
export interface Histogram {
  observe(value: number, labels?: Record<string, string>): void;
}

const key = (labels: Record<string, string> = {}): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
const braces = (k: string): string => (k ? `{${k}}` : '');

/** Creates an empty registry. */
export function createMetricsRegistry(): MetricsRegistry {
  const blocks: Array<() => string> = [];
  return {
    counter(name, help) {
      const values = new Map<string, number>();
      blocks.push(() =>
        [`# HELP ${name} ${help}`, `# TYPE ${name} counter`, ...[...values].map(([k, v]) => `${name}${braces(k)} ${v}`)].join('\n'),
      );
      return { inc: (labels, by = 1) => values.set(key(labels), (values.get(key(labels)) ?? 0) + by) };
    },
    gauge(name, help, collect) {
      const values = new Map<string, number>();
      blocks.push(() => {
        if (collect) {
          const sample = collect();
          if (typeof sample === 'number') values.set('', sample);
          else {
            values.clear();
            for (const [labels, value] of sample) values.set(key(labels), value);
          }
        }
        return [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...[...values].map(([k, v]) => `${name}${braces(k)} ${v}`)].join('\n');
      });
      return { set: (value, labels) => values.set(key(labels), value) };
    },
    histogram(name, help, buckets) {
      const series = new Map<string, { counts: number[]; sum: number; count: number }>();
      blocks.push(() => {
        const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
        for (const [k, s] of series) {
          const sep = k ? `${k},` : '';
          buckets.forEach((b, i) => lines.push(`${name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
          lines.push(
            `${name}_bucket{${sep}le="+Inf"} ${s.count}`,
            `${name}_sum${braces(k)} ${s.sum}`,
            `${name}_count${braces(k)} ${s.count}`,
          );
        }
        return lines.join('\n');
      });
      return {
        observe(value, labels) {
          const k = key(labels);
          let s = series.get(k);
          if (!s) series.set(k, (s = { counts: buckets.map(() => 0), sum: 0, count: 0 }));
          const counts = s.counts;
          buckets.forEach((b, i) => {
            if (value <= b) counts[i] = (counts[i] ?? 0) + 1;
          });
          s.sum += value;
          s.count++;
        },
      };
    },
    render: () => `${blocks.map((b) => b()).join('\n')}\n`,
  };
}
