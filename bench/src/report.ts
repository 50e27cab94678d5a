import { ratio } from './stats.js';

/** A goal a row's ratio must meet. */
export interface Goal {
  op: '>=' | '<=';
  value: number;
}

/** One printed row: a measured value against a baseline measured in the same run. */
export interface Row {
  /** What is compared, e.g. `bulk push, 1 stream`. */
  name: string;
  /** The baseline's label and formatted value. */
  baseline: string;
  /** The subject's label and formatted value. */
  subject: string;
  /** subject / baseline in the row's own unit (higher is better for throughput, lower for latency). */
  ratio: number;
  goal?: Goal;
  note?: string;
}

/** A section of the report (one suite). */
export interface Section {
  title: string;
  rows: Row[];
  /** Markdown table lines printed after the rows (e.g. one column per tool). */
  table?: string[];
  /** Free-form lines printed under the table (configuration, negotiated cipher, skips). */
  notes: string[];
}

/** Whether the row meets its goal (undefined when it has none). */
export function goalMet(row: Row): boolean | undefined {
  if (row.goal === undefined || !Number.isFinite(row.ratio)) return undefined;
  return row.goal.op === '>=' ? row.ratio >= row.goal.value : row.ratio <= row.goal.value;
}

function goalText(row: Row): string {
  const met = goalMet(row);
  if (row.goal === undefined || met === undefined) return '';
  return `${row.goal.op} ${row.goal.value} ${met ? 'met' : 'MISSED'}`;
}

/** Renders a section as a Markdown table (readable in a terminal, pasteable into bench/README.md). */
export function renderSection(section: Section): string {
  const header = ['row', 'baseline', 'measured', 'ratio', 'goal'];
  const body = section.rows.map((r) => [r.name + (r.note ? ` (${r.note})` : ''), r.baseline, r.subject, ratio(r.ratio), goalText(r)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => (cells[i] as string).length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  const out = [`### ${section.title}`, '', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  if (section.table !== undefined) out.push('', ...section.table);
  if (section.notes.length > 0) out.push('', ...section.notes.map((n) => `- ${n}`));
  return out.join('\n');
}
