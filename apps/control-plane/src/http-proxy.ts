import http from 'node:http';
import type { Duplex } from 'node:stream';
import { type Dialer } from '@spoke/transport-core';
import { endToEndHeaders, splice } from '@spoke/transport-core/utils';

/** Where a proxied request goes. */
export interface ProxyTarget {
  /** Carries the bytes (TLS already applied when the target is https). */
  dialer: Dialer;
  agent: http.Agent;
  host: string;
  port: number;
  /** Path and query on the target. */
  path: string;
}

// The control plane speaks to the kubelet with its own identity: the client's Host and credentials stay here.
const OWN_HEADERS: ReadonlySet<string> = new Set(['host', 'authorization']);

function forwardHeaders(req: http.IncomingMessage): http.OutgoingHttpHeaders {
  const out = endToEndHeaders(req.headers, OWN_HEADERS);
  const peer = req.socket.remoteAddress;
  if (peer) out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${peer}` : peer;
  return out;
}

/**
 * Proxies a plain HTTP request and streams the answer back (chunk by chunk,
 * so `logs -f` flows); the upstream request is aborted when the client goes away.
 * Rejects (before anything was sent) when the target cannot be reached.
 */
export function proxyRequest(req: http.IncomingMessage, res: http.ServerResponse, target: ProxyTarget, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const upstream = http.request(
      {
        host: target.host,
        port: target.port,
        path: target.path,
        method: req.method,
        headers: forwardHeaders(req),
        agent: target.agent,
        signal,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEndHeaders(answer.headers));
        res.flushHeaders();
        answer.pipe(res);
        answer.on('end', () => resolve());
        answer.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
      resolve();
    });
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        resolve();
      } else reject(err);
    });
    req.pipe(upstream);
  });
}

/**
 * Proxies an upgrade (WebSocket, SPDY) as an upgrade: dials the target,
 * replays the request head with the new path, then splices the two sockets,
 * so the target's `101 Switching Protocols` (or its refusal) reaches the
 * client unchanged and the protocols stay end to end.
 */
export async function proxyUpgrade(
  req: http.IncomingMessage,
  client: Duplex,
  head: Buffer,
  target: ProxyTarget,
  signal: AbortSignal,
): Promise<void> {
  const upstream = await target.dialer.dial({ host: target.host, port: target.port }, { signal });
  const lines = [
    `${req.method ?? 'GET'} ${target.path} HTTP/1.1`,
    `Host: ${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`,
  ];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'authorization' || lower.startsWith('proxy-')) continue;
    lines.push(`${name}: ${req.rawHeaders[i + 1] ?? ''}`);
  }
  if (req.socket.remoteAddress) lines.push(`X-Forwarded-For: ${req.socket.remoteAddress}`);
  upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length > 0) upstream.write(head);
  splice(client, upstream);
}

/** Writes an HTTP error response on a raw (not yet upgraded) socket and closes it. */
export function rawJsonError(socket: Duplex, code: number, body: unknown): void {
  const data = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(data)}\r\nConnection: close\r\n\r\n${data}`,
  );
}
