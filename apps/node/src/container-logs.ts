import type http from 'node:http';
import type { LogBuffer, LogEntry } from './log-buffer.js';

/** The `PodLogOptions` the kubelet reads from the query string. */
export interface LogOptions {
  follow: boolean;
  timestamps: boolean;
  tailLines: number | undefined;
  sinceSeconds: number | undefined;
  sinceTime: Date | undefined;
  limitBytes: number | undefined;
}

/** Thrown for an invalid query (the kubelet answers 400/422). */
export class LogOptionsError extends Error {}

const TRUE = new Set(['true', '1', 'True', 'TRUE']);

/** Parses `follow`, `timestamps`, `tailLines` (legacy `tail`), `sinceSeconds`, `sinceTime`, `limitBytes`. */
export function parseLogOptions(query: URLSearchParams): LogOptions {
  const int = (name: string, min: number): number | undefined => {
    const v = query.get(name);
    if (v === null || v === '') return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min) throw new LogOptionsError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  if (TRUE.has(query.get('previous') ?? '')) throw new LogOptionsError('previous terminated containers are not kept by this node');
  const tail = query.get('tail');
  const sinceTimeText = query.get('sinceTime');
  const sinceTime = sinceTimeText ? new Date(sinceTimeText) : undefined;
  if (sinceTime && Number.isNaN(sinceTime.getTime()))
    throw new LogOptionsError(`sinceTime must be RFC 3339, got ${JSON.stringify(sinceTimeText)}`);
  const options: LogOptions = {
    follow: TRUE.has(query.get('follow') ?? ''),
    timestamps: TRUE.has(query.get('timestamps') ?? ''),
    tailLines: int('tailLines', 0) ?? (tail && tail !== 'all' ? int('tail', 0) : undefined),
    sinceSeconds: int('sinceSeconds', 1),
    sinceTime,
    limitBytes: int('limitBytes', 1),
  };
  if (options.sinceSeconds !== undefined && options.sinceTime !== undefined)
    throw new LogOptionsError('at most one of sinceTime or sinceSeconds may be specified');
  return options;
}

/**
 * Streams a container log as the kubelet does: chunked text, one write per
 * line, optional RFC 3339 timestamps, history cut by tailLines/since, output
 * capped at limitBytes; with follow, new lines until the client goes away or
 * the container's log ends. Returns when the response is finished.
 */
export function streamLog(
  log: LogBuffer,
  options: LogOptions,
  res: http.ServerResponse,
  onFollow?: (delta: 1 | -1) => void,
): Promise<void> {
  const since = options.sinceTime ?? (options.sinceSeconds !== undefined ? new Date(Date.now() - options.sinceSeconds * 1000) : undefined);
  let budget = options.limitBytes ?? Infinity;
  res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache' });
  res.flushHeaders();

  // Returns false once limitBytes is used up.
  const send = (entry: LogEntry): boolean => {
    if (since && entry.time < since) return true;
    let bytes = options.timestamps ? Buffer.concat([Buffer.from(`${entry.time.toISOString()} `), entry.line]) : entry.line;
    if (bytes.length > budget) bytes = bytes.subarray(0, budget);
    budget -= bytes.length;
    res.write(bytes);
    return budget > 0;
  };

  let history = log.snapshot();
  if (since) history = history.filter((e) => e.time >= since);
  if (options.tailLines !== undefined) history = options.tailLines === 0 ? [] : history.slice(-options.tailLines);
  for (const entry of history) {
    if (!send(entry)) return finish(res);
  }
  if (!options.follow || log.ended) return finish(res);

  return new Promise((resolve) => {
    onFollow?.(1);
    const stop = (): void => {
      log.off('entry', onEntry);
      log.off('end', onEnd);
      res.off('close', stop);
      onFollow?.(-1);
      if (!res.writableEnded) res.end();
      resolve();
    };
    const onEntry = (entry: LogEntry): void => {
      if (!send(entry)) stop();
    };
    const onEnd = (): void => stop();
    log.on('entry', onEntry);
    log.on('end', onEnd);
    res.on('close', stop);
  });
}

function finish(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => res.end(() => resolve()));
}
