import { SpokeError } from './errors.js';

const UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration in Go's syntax (`500ms`, `30s`, `1m30s`, `1h`, `0`) to
 * milliseconds, as upstream Konnectivity flags and spoke's CLI write them.
 * With `bareSeconds`, a plain number is seconds (as OpenSSH's
 * `ConnectTimeout=10`). Anything else is `ERR_BAD_OPTION`; `name` says whose
 * value it was (`--keepalive-time`).
 */
export function parseDuration(text: string, options: { name?: string; bareSeconds?: boolean } = {}): number {
  const trimmed = text.trim();
  if (options.bareSeconds && /^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (trimmed === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    total += Number(m[1]) * (UNITS[m[2] as string] ?? 0);
    at = re.lastIndex;
  }
  if (at !== trimmed.length || trimmed === '') {
    const whose = options.name ? `${options.name} takes` : 'Expected';
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `${whose} a duration such as 500ms, 30s, 1m30s or 1h${options.bareSeconds ? ' (a bare number is seconds)' : ''}, got ${JSON.stringify(text)}.`,
    );
  }
  return total;
}
