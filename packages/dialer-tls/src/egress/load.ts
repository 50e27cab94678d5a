import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { EgressConfigError, type ConfigIssue } from './config-error.js';
import { DOCUMENT, decodeStrict, type RawDocument } from './decode.js';
import type { EgressSelectorConfiguration } from '@spoke/transport-core/egress';
import { validateDocument } from './validate.js';

/** Options of {@link parseEgressSelectorConfiguration}. */
export interface ParseEgressOptions {
  /** Directory relative `tlsConfig` paths are resolved against. Default: the working directory (as kube-apiserver). */
  baseDir?: string;
  /** Name of the input in error messages. Default `"the configuration"`. */
  source?: string;
}

/**
 * Parses and validates an `EgressSelectorConfiguration` from YAML (or JSON)
 * text the way kube-apiserver does: `apiserver.k8s.io/v1beta1` or `v1alpha1`,
 * strict decoding (unknown fields, duplicate keys and wrong types rejected),
 * `master` read as `controlplane`, names lower-cased, then upstream's
 * validation rules. Every problem is reported at its field path in one
 * `ERR_BAD_CONFIG` ({@link EgressConfigError}). Relative `tlsConfig` paths come
 * back absolute.
 */
export function parseEgressSelectorConfiguration(text: string, options: ParseEgressOptions = {}): EgressSelectorConfiguration {
  const source = options.source ?? 'the configuration';
  const yaml = parseDocument(text, { uniqueKeys: true });
  if (yaml.errors.length > 0) {
    throw new EgressConfigError(
      source,
      yaml.errors.map((e) => ({
        field: '',
        message: `YAML error${e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : ''}: ${e.message.split(/ at line \d+|\n/)[0]}`,
      })),
    );
  }
  const value: unknown = yaml.toJS();
  const issues: ConfigIssue[] = [];
  if (value === null || value === undefined)
    throw new EgressConfigError(source, [{ field: 'kind', message: 'Required value: the document is empty' }]);
  const raw = decodeStrict(value, DOCUMENT, '', issues) as RawDocument | undefined;
  if (issues.length > 0 || raw === undefined) throw new EgressConfigError(source, issues);
  const config = validateDocument(raw, options.baseDir ?? process.cwd(), issues);
  if (config === undefined) throw new EgressConfigError(source, issues);
  return config;
}

/**
 * Loads `--egress-selector-config-file`. Given text (anything containing a
 * line break, or starting with `{`) instead of a path, parses that text.
 * Relative `tlsConfig` paths are resolved against the working directory, as
 * kube-apiserver does; pass `baseDir` to resolve them elsewhere.
 */
export function loadEgressSelectorConfiguration(
  pathOrText: string,
  options: Omit<ParseEgressOptions, 'source'> = {},
): EgressSelectorConfiguration {
  if (pathOrText.includes('\n') || pathOrText.trimStart().startsWith('{')) return parseEgressSelectorConfiguration(pathOrText, options);
  const path = resolve(pathOrText);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    throw new EgressConfigError(path, [{ field: '', message: `cannot read the file (${code}); check --egress-selector-config-file` }]);
  }
  return parseEgressSelectorConfiguration(text, { ...options, source: path, baseDir: options.baseDir ?? process.cwd() });
}
