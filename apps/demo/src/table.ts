/** One row of the demo's result table. */
export interface Row {
  path: string;
  check: string;
  result: string;
  ms: number;
  ok: boolean;
}

/** Renders rows as an aligned text table. */
export function renderTable(rows: readonly Row[]): string {
  const head = ['path', 'check', 'result', 'ms'];
  const cells = rows.map((r) => [r.path, r.check, `${r.ok ? '✔' : '✘'} ${r.result}`, r.ms.toFixed(1)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]): string => c.map((x, i) => (i === 3 ? x.padStart(widths[i] ?? 0) : x.padEnd(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** Times `fn` and turns its outcome into a row (a thrown error becomes its code). */
export async function measure(path: string, check: string, fn: () => Promise<string>, expectCode?: string): Promise<Row> {
  const t0 = performance.now();
  try {
    const result = await fn();
    return { path, check, result, ms: performance.now() - t0, ok: expectCode === undefined };
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    const message = (err as Error).message ?? String(err);
    return {
      path,
      check,
      result: expectCode ? `${code} (as expected)` : `${code}: ${message}`,
      ms: performance.now() - t0,
      ok: expectCode === code,
    };
  }
}
