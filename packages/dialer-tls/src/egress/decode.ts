import type { ConfigIssue } from './config-error.js';

/**
 * Strict decoding, as kube-apiserver's `serializer.EnableStrict` codec does:
 * unknown fields and wrongly typed values are errors, and `null` means
 * "absent" (as for Go's JSON decoder). Keys are case-sensitive.
 */

type Spec = { kind: 'string' } | { kind: 'object'; fields: Readonly<Record<string, Spec>> } | { kind: 'list'; items: Spec };

const str: Spec = { kind: 'string' };
const obj = (fields: Record<string, Spec>): Spec => ({ kind: 'object', fields });

const TLS_CONFIG = obj({ caBundle: str, clientKey: str, clientCert: str, tlsServerName: str });
const TRANSPORT = obj({
  tcp: obj({ url: str, tlsConfig: TLS_CONFIG }),
  uds: obj({ udsName: str }),
});

/** The document's fields (apiVersion and kind included). */
export const DOCUMENT: Spec = obj({
  apiVersion: str,
  kind: str,
  egressSelections: { kind: 'list', items: obj({ name: str, connection: obj({ proxyProtocol: str, transport: TRANSPORT }) }) },
});

/** The decoded document, before validation: every field may be missing. */
export interface RawTlsConfig {
  caBundle?: string;
  clientKey?: string;
  clientCert?: string;
  tlsServerName?: string;
}
/** See {@link RawTlsConfig}. */
export interface RawTransport {
  tcp?: { url?: string; tlsConfig?: RawTlsConfig };
  uds?: { udsName?: string };
}
/** See {@link RawTlsConfig}. */
export interface RawDocument {
  apiVersion?: string;
  kind?: string;
  egressSelections?: Array<{ name?: string; connection?: { proxyProtocol?: string; transport?: RawTransport } }>;
}

/** Decodes `value` against `spec`, collecting problems in `issues`; returns what could be decoded. */
export function decodeStrict(value: unknown, spec: Spec, path: string, issues: ConfigIssue[]): unknown {
  if (value === null || value === undefined) return undefined;
  switch (spec.kind) {
    case 'string':
      if (typeof value === 'string') return value;
      issues.push({ field: path, message: `expected a string, got ${describe(value)}` });
      return undefined;
    case 'list': {
      if (!Array.isArray(value)) {
        issues.push({ field: path, message: `expected a list, got ${describe(value)}` });
        return undefined;
      }
      return value.map((item, i) => decodeStrict(item, spec.items, `${path}[${i}]`, issues) ?? {});
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        issues.push({ field: path, message: `expected an object, got ${describe(value)}` });
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const child = path ? `${path}.${key}` : key;
        const fieldSpec = Object.hasOwn(spec.fields, key) ? spec.fields[key] : undefined;
        if (fieldSpec === undefined) {
          issues.push({ field: '', message: `unknown field "${child}"${hint(key, spec.fields)}` });
          continue;
        }
        const decoded = decodeStrict(item, fieldSpec, child, issues);
        if (decoded !== undefined) out[key] = decoded;
      }
      return out;
    }
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

// A field written with the wrong case is the most common typo (Go's lenient decoder would accept it).
function hint(key: string, fields: Readonly<Record<string, Spec>>): string {
  const match = Object.keys(fields).find((f) => f.toLowerCase() === key.toLowerCase());
  return match === undefined ? ` (known fields: ${Object.keys(fields).join(', ')})` : ` (did you mean "${match}"?)`;
}
