import { field, meta, scalarText, type Json } from './json.js';

/** One term of a label or field selector: `k=v`, `k==v`, `k!=v`, or (labels only) `k` and `!k`. */
interface Requirement {
  key: string;
  op: '=' | '!=' | 'exists' | '!exists';
  value: string;
}

const TERM = /^\s*([^!=\s]+)\s*(==|=|!=)\s*([^\s]*)\s*$/;

function requirements(selector: string | null): Requirement[] {
  return (selector ?? '').split(',').flatMap((term): Requirement[] => {
    const m = TERM.exec(term);
    if (m) {
      const [, key = '', op, value = ''] = m;
      return [{ key, op: op === '!=' ? '!=' : '=', value }];
    }
    const bare = term.trim();
    if (bare === '') return [];
    return bare.startsWith('!') ? [{ key: bare.slice(1), op: '!exists', value: '' }] : [{ key: bare, op: 'exists', value: '' }];
  });
}

/** `?labelSelector=`: equality, inequality and existence terms, all of which must hold. */
export function matchesLabels(obj: Json, selector: string | null): boolean {
  const labels = (meta(obj).labels as Record<string, string> | undefined) ?? {};
  return requirements(selector).every((r) => {
    if (r.op === 'exists') return r.key in labels;
    if (r.op === '!exists') return !(r.key in labels);
    return (labels[r.key] === r.value) === (r.op === '=');
  });
}

/** `?fieldSelector=`: dotted paths (`spec.nodeName=node-a`) compared as text; other terms are ignored. */
export function matchesFields(obj: Json, selector: string | null): boolean {
  return requirements(selector).every((r) => {
    if (r.op !== '=' && r.op !== '!=') return true;
    const actual = scalarText(field(obj, ...r.key.split('.')));
    return (actual === r.value) === (r.op === '=');
  });
}
