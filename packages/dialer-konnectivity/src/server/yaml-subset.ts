import { SpokeError } from '@spoke/transport-core';

/** A value of the YAML subset: what kubectl writes into a kubeconfig. */
export type YamlValue = string | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  no: number;
}

/**
 * Parses the block-style YAML subset kubectl writes for kubeconfig files:
 * nested mappings, `- ` sequences (also at the parent key's indent), plain
 * and quoted scalars, `{}`/`[]`, comments. The package cannot depend on a full
 * YAML parser (the workspace lock is shared), so anything else (anchors,
 * multi-line scalars, non-empty flow collections) is refused with a hint to
 * use the JSON form, which every kubeconfig consumer also accepts.
 */
export function parseYamlSubset(text: string): YamlValue {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const body = stripComment(raw).trimEnd();
    if (body.trim() === '' || body === '---') return;
    if (/^\t/.test(body)) unsupported(i + 1, 'tab indentation');
    lines.push({ indent: body.length - body.trimStart().length, text: body.trimStart(), no: i + 1 });
  });
  if (lines.length === 0) return null;
  const [value, next] = parseBlock(lines, 0, (lines[0] as Line).indent);
  if (next < lines.length) unsupported((lines[next] as Line).no, 'content outside the top-level block');
  return value;
}

function unsupported(no: number, what: string): never {
  throw new SpokeError(
    'ERR_BAD_CONFIG',
    `Kubeconfig line ${no}: ${what} is not supported by our YAML reader; write the kubeconfig as JSON (kubectl config view --raw -o json).`,
  );
}

function stripComment(raw: string): string {
  let quote = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(raw[i - 1] as string))) return raw.slice(0, i);
  }
  return raw;
}

const isItem = (t: string): boolean => t === '-' || t.startsWith('- ');

function parseBlock(lines: Line[], i: number, indent: number): [YamlValue, number] {
  const first = lines[i] as Line;
  if (isItem(first.text)) return parseSeq(lines, i, indent);
  if (keyOf(first.text) === undefined) {
    const next = lines[i + 1];
    if (next && next.indent > indent) unsupported(next.no, 'a multi-line scalar');
    return [scalar(first.text, first.no), i + 1];
  }
  return parseMap(lines, i, indent);
}

function parseSeq(lines: Line[], i: number, indent: number): [YamlValue[], number] {
  const out: YamlValue[] = [];
  while (i < lines.length && (lines[i] as Line).indent === indent && isItem((lines[i] as Line).text)) {
    const line = lines[i] as Line;
    const rest = line.text.slice(1).trimStart();
    if (rest === '') {
      const next = lines[i + 1];
      if (next && next.indent > indent) {
        const [v, n] = parseBlock(lines, i + 1, next.indent);
        out.push(v);
        i = n;
      } else {
        out.push(null);
        i++;
      }
      continue;
    }
    // "- key: v" opens a mapping whose keys sit at the column after the dash.
    const inner = indent + (line.text.length - rest.length);
    lines[i] = { indent: inner, text: rest, no: line.no };
    const [v, n] = parseBlock(lines, i, inner);
    out.push(v);
    i = n;
  }
  return [out, i];
}

function parseMap(lines: Line[], i: number, indent: number): [{ [key: string]: YamlValue }, number] {
  const out: { [key: string]: YamlValue } = {};
  while (i < lines.length && (lines[i] as Line).indent === indent && !isItem((lines[i] as Line).text)) {
    const line = lines[i] as Line;
    const kv = keyOf(line.text);
    if (kv === undefined) unsupported(line.no, 'a line that is neither "key: value" nor "- item"');
    const [key, value] = kv;
    i++;
    const next = lines[i];
    if (value !== '') out[key] = scalar(value, line.no);
    else if (next && (next.indent > indent || (next.indent === indent && isItem(next.text)))) {
      const [v, n] = parseBlock(lines, i, next.indent);
      out[key] = v;
      i = n;
    } else out[key] = null;
  }
  return [out, i];
}

function keyOf(text: string): [string, string] | undefined {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'{[#&*!|>%@`-][^:]*?|-[^\s:][^:]*?):(?:\s+(.*))?$/.exec(text);
  if (!m) return undefined;
  const rawKey = m[1] as string;
  const key = rawKey.startsWith('"') || rawKey.startsWith("'") ? String(scalar(rawKey, 0)) : rawKey;
  return [key, (m[2] ?? '').trim()];
}

function scalar(text: string, no: number): YamlValue {
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      unsupported(no, 'this double-quoted string');
    }
  }
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text)) unsupported(no, 'this single-quoted string');
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (text === '{}') return {};
  if (text === '[]') return [];
  if (/^[[{&*!|>]/.test(text)) unsupported(no, `"${text[0]}" (flow collections, anchors, tags, block scalars)`);
  if (text === 'null' || text === '~') return null;
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}
