import type http from 'node:http';
import { isAbortError, isSpokeError } from '@spoke/transport-core';
import { httpStatusFor } from '@spoke/transport-core/utils';
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

/** Kubernetes Status reasons of the statuses {@link httpStatusFor} answers. */
const REASONS: Readonly<Record<number, string>> = { 400: 'BadRequest', 403: 'Forbidden', 504: 'Timeout' };

/**
 * The Status for a node the control plane could not reach (upstream: "error
 * dialing backend"), with the status every spoke front end answers for that
 * error; a dial cut short by the kubelet timeout is a 504.
 */
export function backendError(err: Error): Json {
  const code = isAbortError(err) ? 504 : httpStatusFor(err);
  const spokeCode = isSpokeError(err) ? ` (${err.code})` : '';
  return status(code, REASONS[code] ?? 'ServiceUnavailable', `error dialing backend: ${err.message}${spokeCode}`);
}
