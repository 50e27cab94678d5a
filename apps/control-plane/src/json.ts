/** A Kubernetes object or document as kubectl reads it: plain JSON. */
export type Json = Record<string, unknown>;

/** The value at `path` inside `o`, or undefined where any step is missing (`field(pod, 'status', 'podIP')`). */
export function field(o: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Json)[k] : undefined), o);
}

/** A scalar field as text (`''` for anything else: a missing field, an object). */
export function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** An object's `metadata` (empty when it has none). */
export function meta(o: Json): Json {
  return (o.metadata as Json | undefined) ?? {};
}

/** A timestamp as the API server writes it: RFC 3339, whole seconds. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}
