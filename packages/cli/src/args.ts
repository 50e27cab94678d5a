import { parseArgs } from 'node:util';
import { isSpokeError } from '@spoke/transport-core';
import { parseDuration } from '@spoke/transport-core/utils';
import type { Command, CommandContext } from './command.js';
import { UsageError } from './errors.js';

/** One flag of a command, as node:util parseArgs takes it plus help text. */
export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  /** May be given several times (values are collected in order). */
  multiple?: boolean;
  /** Placeholder shown in help, e.g. `URI`. */
  value?: string;
  /** One line for help. */
  description: string;
}

/** A command's flags by long name. */
export type OptionDefs = Readonly<Record<string, OptionDef>>;

/** Flags every command accepts. */
export const GLOBAL_OPTIONS: OptionDefs = {
  help: { type: 'boolean', short: 'h', description: 'show this help and exit' },
  'log-format': { type: 'string', value: 'text|json', description: 'log line format on stderr (default text)' },
  'log-level': { type: 'string', value: 'debug|info|warn|error', description: 'lowest level logged (default info)' },
};

/** Parsed flags: strings, booleans, or arrays of strings for repeatable ones. */
export type ParsedValues = Readonly<Record<string, string | boolean | Array<string | boolean> | undefined>>;

/** What {@link parseCommandLine} returns. */
export interface ParsedArgs {
  values: ParsedValues;
  positionals: string[];
}

/**
 * Parses a command's arguments strictly (unknown flags, missing values and
 * surplus positionals are {@link UsageError}s carrying `usage`). Global flags
 * are accepted everywhere.
 */
export function parseCommandLine(
  argv: readonly string[],
  options: OptionDefs,
  usage: string,
  positionals: { min?: number; max?: number } = {},
): ParsedArgs {
  const all: OptionDefs = { ...GLOBAL_OPTIONS, ...options };
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, def] of Object.entries(all)) {
    config[name] = { type: def.type, ...(def.short ? { short: def.short } : {}), ...(def.multiple ? { multiple: true } : {}) };
  }
  let parsed: { values: Record<string, string | boolean | Array<string | boolean> | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err), usage);
  }
  if (parsed.values.help === true) return parsed;
  const count = parsed.positionals.length;
  if (positionals.min !== undefined && count < positionals.min) throw new UsageError('missing argument', usage);
  if (positionals.max !== undefined && count > positionals.max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`, usage);
  }
  return parsed;
}

// node:util's messages mention its own API ("To specify a positional argument starting with..."); keep the first sentence.
function parseArgsMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split(/\.\s/)[0]?.replace(/\.$/, '') ?? message;
}

/** A string flag's value, or undefined. */
export function stringFlag(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable string flag's values, in order (empty when absent). */
export function stringFlags(values: ParsedValues, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** A boolean flag's value (false when absent). */
export function booleanFlag(values: ParsedValues, name: string): boolean {
  return values[name] === true;
}

/** A positive integer flag, with a default; anything else is a usage error. */
export function integerFlag(values: ParsedValues, name: string, fallback: number, usage: string, min = 1): number {
  const text = stringFlag(values, name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`, usage);
  return Number(text);
}

/**
 * A duration flag in milliseconds, with a default: Go's syntax (`500ms`,
 * `10s`, `1m30s`, `1h`) or a bare number of seconds, as OpenSSH's
 * ConnectTimeout takes it. Zero or anything else is a usage error naming the flag.
 */
export function durationFlag(values: ParsedValues, name: string, fallback: number, usage: string): number {
  const text = stringFlag(values, name);
  if (text === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(text, { name: `--${name}`, bareSeconds: true });
  } catch (err) {
    throw isSpokeError(err, 'ERR_BAD_OPTION') ? new UsageError(err.message, usage) : err;
  }
  if (!(ms > 0)) throw new UsageError(`--${name} must be greater than zero, got ${JSON.stringify(text)}`, usage);
  return Math.round(ms);
}

/**
 * Help text: the synopsis, a description, the flags (command flags then
 * global ones), and any extra sections (examples, accepted URI forms).
 */
export function formatHelp(synopsis: string, description: string, options: OptionDefs, sections: Array<[string, string]> = []): string {
  const rows = Object.entries({ ...options, ...GLOBAL_OPTIONS }).map(([name, def]) => {
    const flag = `${def.short ? `-${def.short}, ` : '    '}--${name}${def.value ? ` ${def.value}` : ''}${def.multiple ? '...' : ''}`;
    return [flag, def.description] as const;
  });
  const width = Math.min(36, Math.max(...rows.map(([flag]) => flag.length)) + 2);
  const lines = [
    `Usage: ${synopsis}`,
    '',
    description,
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${`${flag}  `.padEnd(width)}${text}`),
  ];
  for (const [title, body] of sections) lines.push('', `${title}:`, ...body.split('\n').map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}

/**
 * Parses a command's arguments: for `--help`, prints the command's help
 * and returns undefined; otherwise returns the parsed arguments and the
 * usage text that the command's own usage errors carry.
 */
export function parseOrHelp(
  argv: readonly string[],
  command: Command,
  context: CommandContext,
  options: OptionDefs,
  positionals: { min?: number; max?: number } = {},
): (ParsedArgs & { usage: string }) | undefined {
  const usage = command.help(context);
  const parsed = parseCommandLine(argv, options, usage, positionals);
  if (parsed.values.help === true) {
    context.io.stdout.write(usage);
    return undefined;
  }
  return { ...parsed, usage };
}
