import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { Dialer } from '../dialer.js';
import { connectTls, type TlsClientOptions } from '../tls-connect.js';
import type { Target } from '../target.js';

/** The connection options HTTP clients hand to a connector (a subset of Node's and undici's). */
export interface HttpConnectRequest {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  socketPath?: string | null;
  servername?: string | null;
  ca?: tls.ConnectionOptions['ca'];
  cert?: tls.ConnectionOptions['cert'];
  key?: tls.ConnectionOptions['key'];
  passphrase?: string;
  rejectUnauthorized?: boolean;
  ALPNProtocols?: string[] | readonly string[] | Uint8Array | Uint8Array[];
}

/** Where an HTTP client wants to connect, as a spoke Target. */
export function httpTarget(req: HttpConnectRequest, defaultPort: number): Target {
  if (req.socketPath) return { path: req.socketPath };
  const raw = req.hostname ?? req.host ?? 'localhost';
  const host = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  const port = req.port === undefined || req.port === null || req.port === '' ? defaultPort : Number(req.port);
  return { host, port };
}

/**
 * Dials for an HTTP client and, for https/wss, runs the TLS handshake on top
 * with the client's own TLS options (verification stays on unless the client
 * set `rejectUnauthorized: false`).
 */
export async function dialForHttp(dialer: Dialer, req: HttpConnectRequest, secure: boolean, signal?: AbortSignal): Promise<Duplex> {
  const target = httpTarget(req, secure ? 443 : 80);
  const stream = await dialer.dial(target, signal ? { signal } : undefined);
  if (!secure) return stream;
  const alpn =
    Array.isArray(req.ALPNProtocols) && req.ALPNProtocols.every((p): p is string => typeof p === 'string') ? req.ALPNProtocols : undefined;
  const options: TlsClientOptions = {
    ...(req.ca != null ? { ca: req.ca } : {}),
    ...(req.cert != null ? { cert: req.cert as string | Buffer } : {}),
    ...(req.key != null ? { key: req.key as string | Buffer } : {}),
    ...(req.passphrase != null ? { passphrase: req.passphrase } : {}),
    ...(req.servername ? { servername: req.servername } : {}),
    ...(alpn ? { alpn } : {}),
    insecureSkipVerify: req.rejectUnauthorized === false,
  };
  const host = 'host' in target ? target.host : 'localhost';
  return connectTls(stream, { host, hop: dialer.kind }, options, signal);
}

/**
 * HTTP/1.1 has no use for half-open connections, and Node's http.Agent drops a
 * pooled socket only on 'close': a dialer's stream stays half-open after the
 * server's FIN (a keep-alive timeout while idle), and the agent would reuse a
 * connection the server has already closed. End our side too, as a plain
 * `net.Socket` without `allowHalfOpen` does (at once when it sits idle).
 */
function closeOnPeerEnd(stream: Duplex): Duplex {
  stream.once('end', () => {
    // Idle in the pool (no request attached: Node's `_httpMessage`): destroyed at once, so the
    // agent, which skips destroyed sockets, cannot hand it out between now and 'close'.
    if ((stream as { _httpMessage?: unknown })._httpMessage == null) stream.destroy();
    else if (!stream.writableEnded) stream.end();
  });
  return stream;
}

/** The callback Node's http machinery passes to `createConnection`. */
export type CreateConnectionCallback = (err: Error | null, stream: Duplex) => void;

/**
 * A `createConnection(options, callback)` in the asynchronous form Node's
 * `http.Agent` and `http.ClientRequest` accept: it returns nothing and calls
 * back once `dialer` (and TLS, when `secure(options)` says so) is done.
 */
export function asyncCreateConnection(dialer: Dialer, secure: (options: HttpConnectRequest) => boolean) {
  return (options: object, callback?: CreateConnectionCallback): undefined => {
    const req = options as HttpConnectRequest;
    dialForHttp(dialer, req, secure(req)).then(
      (s) => callback?.(null, closeOnPeerEnd(s)),
      // Node's callback type insists on a stream even for errors; it is never read then.
      (e: Error) => callback?.(e, undefined as unknown as Duplex),
    );
    return undefined;
  };
}
