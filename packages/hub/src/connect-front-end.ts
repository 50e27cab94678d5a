import { once } from 'node:events';
import http from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { SpokeError, formatTarget, isUnixTarget, parseTarget, type Logger } from '@spoke/transport-core';
import { rawHttpError, splice } from '@spoke/transport-core/utils';
import { bearerToken, peerOf, tokenMatches } from './auth.js';
import { ConnectionGuard, type ConnectionLimits } from './connection-guard.js';
import type { AgentDial } from './hub-dial.js';
import type { HubMetrics } from './hub-metrics.js';

/** Where the front end listens: a TCP address (needs a client token) or a unix socket (file permissions guard it). */
export type ConnectListen = { host: string; port: number } | { path: string };

/** What the front end takes from its hub. */
export interface ConnectFrontEndOptions {
  /** The client tokens accepted now (they may change while the hub runs). */
  clientTokens: () => readonly string[];
  dial: AgentDial;
  metrics: HubMetrics;
  log: Logger;
  /** The hub's connection caps and handshake timeout, counted for this listener on its own. */
  limits: ConnectionLimits;
}

/** What CONNECT clients may send before the 200, held while the dial runs; beyond it we stop reading. */
const EARLY_DATA_LIMIT = 256 * 1024;

/**
 * The hub's HTTP CONNECT front end: `CONNECT host:port` dials through an
 * agent and splices the client's socket onto the stream; a failed dial is
 * answered with the status `httpStatusFor` gives its code and the
 * `X-Spoke-Error-Code` header. `unix:` targets are refused (403,
 * ERR_DIAL_DENIED) before any agent hears of them. The hub's connection
 * caps and handshake timeout (for the CONNECT request head) apply here too.
 */
export class ConnectFrontEnd {
  readonly #server: http.Server;
  readonly #viaUnix: boolean;
  readonly #clientTokens: () => readonly string[];
  readonly #dial: AgentDial;
  readonly #metrics: HubMetrics;
  readonly #log: Logger;
  readonly #guard: ConnectionGuard;

  private constructor(listen: ConnectListen, { clientTokens, dial, metrics, log, limits }: ConnectFrontEndOptions) {
    this.#viaUnix = 'path' in listen;
    this.#clientTokens = clientTokens;
    this.#dial = dial;
    this.#metrics = metrics;
    this.#log = log;
    // Kept-alive connections after a 405: the next request head is due within the handshake timeout too.
    this.#server = http.createServer({ headersTimeout: limits.handshakeTimeoutMs, connectionsCheckingInterval: 1_000 }, (req, res) => {
      this.#guard.established(req.socket);
      res.writeHead(405, { 'content-type': 'text/plain' }).end('spoke hub: use CONNECT host:port\n');
    });
    this.#guard = new ConnectionGuard(this.#server, limits, metrics, log);
    this.#server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#connect(req, socket, head));
  }

  /** Starts listening; resolves with the front end and its `host:port` or `unix:/path` address. */
  static async start(
    listen: ConnectListen,
    options: ConnectFrontEndOptions,
  ): Promise<{ frontEnd: ConnectFrontEnd; address: string | undefined }> {
    const frontEnd = new ConnectFrontEnd(listen, options);
    const server = frontEnd.#server;
    if ('path' in listen) server.listen(listen.path);
    else server.listen(listen.port, listen.host);
    await once(server, 'listening');
    const a = server.address();
    const address =
      typeof a === 'string' ? `unix:${a}` : a ? `${isIP(a.address) === 6 ? `[${a.address}]` : a.address}:${a.port}` : undefined;
    return { frontEnd, address };
  }

  /** Stops accepting connections; tunnels already spliced stay. */
  stopListening(): void {
    this.#server.close();
  }

  /** Cuts the connections still open. */
  dropConnections(): void {
    this.#server.closeAllConnections();
  }

  #connect(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#guard.established(socket);
    socket.on('error', () => {});
    if (!this.#viaUnix && !tokenMatches(bearerToken(req.headers['proxy-authorization']), this.#clientTokens())) {
      this.#metrics.authFailures.inc({ role: 'connect' });
      this.#log.warn('refused CONNECT: missing or wrong Proxy-Authorization', { remote: peerOf(req) });
      const body = 'spoke hub: Proxy-Authorization: Bearer <client token> required\n';
      socket.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Bearer\r\n' +
          `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    const refusal = unixRefusal(req.url ?? '');
    if (refusal) {
      this.#metrics.dialFailures.inc({ code: refusal.code });
      this.#log.warn('refused CONNECT to a unix socket', { remote: peerOf(req), target: req.url });
      socket.end(rawHttpError(refusal, 'spoke hub'));
      return;
    }
    // A client that goes away while we dial cancels the dial (and whatever the agent had opened).
    const gone = new AbortController();
    const onGone = (): void => gone.abort(new SpokeError('ERR_STREAM_RESET', 'The CONNECT client went away.'));
    // Keep reading while we dial: only a reading socket notices the client's FIN or RST (a FIN
    // before the 200 means the client gave up). What a client sends early is held (bounded:
    // then we stop reading) and goes first.
    const early: Buffer[] = head.length > 0 ? [head] : [];
    let earlyBytes = head.length;
    const onData = (chunk: Buffer): void => {
      early.push(chunk);
      earlyBytes += chunk.length;
      if (earlyBytes > EARLY_DATA_LIMIT) socket.pause();
    };
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    this.#dial(req.url ?? '', { signal: gone.signal }).then(
      (stream) => {
        socket.off('data', onData);
        socket.off('end', onGone);
        socket.off('close', onGone);
        socket.pause();
        socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
        for (const chunk of early) stream.write(chunk);
        splice(socket, stream);
        socket.resume();
      },
      (err: unknown) => {
        // The client left (or half-closed before the tunnel existed): nothing to answer.
        if (gone.signal.aborted) {
          socket.destroy();
          return;
        }
        // The status every spoke proxy answers for this code, and the code itself for spoke's CONNECT dialer.
        socket.end(rawHttpError(SpokeError.from(err), 'spoke hub'));
      },
    );
  }
}

/**
 * A proxy front end offers TCP targets only: `CONNECT unix:/path` would reach
 * sockets on an agent's machine that no allow list rule is written for.
 * Malformed targets are left to the dial, which reports them.
 */
function unixRefusal(requestTarget: string): SpokeError | undefined {
  let target;
  try {
    target = parseTarget(requestTarget);
  } catch {
    return undefined;
  }
  if (!isUnixTarget(target)) return undefined;
  return new SpokeError(
    'ERR_DIAL_DENIED',
    `${formatTarget(target)} is a unix socket: the hub's CONNECT front end dials TCP targets only.`,
    {
      target: formatTarget(target),
      hop: 'hub',
    },
  );
}
