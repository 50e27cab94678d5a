import type http from 'node:http';
import { SpokeError, isAbortError } from '@spoke/transport-core';
import { status } from './api-objects.js';
import type { Json } from './json.js';

/** Answers with a JSON document; a Status answers with its own code. */
export function send(res: http.ServerResponse, body: Json): void {
  const code = body.kind === 'Status' ? Number(body.code ?? 500) : 200;
  const data = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-cache, private',
  });
  res.end(data);
}

export function sendText(res: http.ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The Status for a node the control plane could not reach (upstream: "error dialing backend"). */
export function backendError(err: Error): Json {
  if (isAbortError(err)) return status(504, 'Timeout', `error dialing backend: ${err.message}`);
  const code = err instanceof SpokeError ? err.code : undefined;
  return status(
    code === 'ERR_NO_ROUTE' ? 503 : 502,
    'ServiceUnavailable',
    `error dialing backend: ${err.message}${code ? ` (${code})` : ''}`,
  );
}
