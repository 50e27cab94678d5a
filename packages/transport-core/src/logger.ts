/** Severity levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields attached to a log line. Never put secrets here. */
export type LogFields = Record<string, string | number | boolean | undefined | null>;

/** The logger every spoke component takes (injected, never global). */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{ component: 'hub' }`). */
  child(fields: LogFields): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** `text` (human) or `json` (one object per line). Default `text`. */
  format?: 'text' | 'json';
  /** Lowest level written. Default `info`. */
  level?: LogLevel;
  /** Where lines go. Default `process.stderr`. */
  write?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Creates a logger writing text or JSON lines (to stderr by default). */
export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const format = options.format ?? 'text';
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[level] < min) return;
    const all = { ...base, ...fields };
    if (format === 'json') {
      write(`${JSON.stringify({ time: now().toISOString(), level, msg: message, ...all })}\n`);
      return;
    }
    const kv = Object.entries(all)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    write(`${now().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${kv ? ` ${kv}` : ''}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything (the default for library components). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
