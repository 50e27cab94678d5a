import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration flag: `500ms`, `10s`, `2m`, `1h`, or a bare number of
 * seconds (as OpenSSH's ConnectTimeout). Returns milliseconds; anything else
 * (negative, empty, unknown unit) is a usage error naming the flag.
 */
export function parseDuration(text: string, flag: string, usage: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`--${flag} takes a duration such as 500ms, 10s or 2m, got ${JSON.stringify(text)}`, usage);
  const ms = Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`--${flag} must be greater than zero`, usage);
  return Math.round(ms);
}
