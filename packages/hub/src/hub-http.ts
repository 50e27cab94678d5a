import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { frameLimit } from '@spoke/transport-core/protocol';
import { peerOf } from './auth.js';
import { ConnectionGuard } from './connection-guard.js';
import { HubAuthenticator } from './hub-auth.js';
import type { HubMetrics } from './hub-metrics.js';
import type { ResolvedHubOptions } from './hub-options.js';
import type { HubSessions } from './hub-sessions.js';

/**
 * The hub's listener: HTTPS (or loopback HTTP) serving `/healthz` (liveness, no data), and
 * WebSocket upgrades on `/v1/agent` and `/v1/client` for callers that present
 * their role's credentials: a bearer token, or a certificate from that role's CA (see {@link HubAuthenticator}).
 */
export class HubHttpServer {
  readonly #config: ResolvedHubOptions;
  readonly #metrics: HubMetrics;
  readonly #sessions: HubSessions;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #auth: HubAuthenticator;
  readonly #guard: ConnectionGuard;
  /** Every connection, WebSocket or not, so `close()` can cut what is left after the sessions drained. */
  readonly #sockets = new Set<Socket>();

  constructor(config: ResolvedHubOptions, auth: HubAuthenticator, metrics: HubMetrics, sessions: HubSessions) {
    this.#config = config;
    this.#metrics = metrics;
    this.#sessions = sessions;
    this.#auth = auth;
    // Plain requests: liveness only. Readiness (agent count) and metrics (agents, dials, auth
    // failures) describe the deployment, so they are not for anyone who can reach this port:
    // the embedding process serves them elsewhere (hub.metrics(), the CLI's --metrics listener).
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.#guard.established(req.socket);
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('spoke hub: agents connect to /v1/agent, clients to /v1/client\n');
    };
    // Kept-alive connections: the next request head is due within the handshake timeout too (Node checks it every second here).
    const heads = { headersTimeout: config.handshakeTimeoutMs, connectionsCheckingInterval: 1_000 };
    this.#server = config.insecurePlaintext
      ? http.createServer(heads, onRequest)
      : https.createServer(
          {
            ...heads,
            handshakeTimeout: config.handshakeTimeoutMs,
            cert: config.tls?.cert,
            key: config.tls?.key,
            ...HubAuthenticator.tlsOptions(config),
            minVersion: 'TLSv1.2',
          },
          onRequest,
        );
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: frameLimit(config.session.maxFrame ?? 64 * 1024),
    });
    this.#guard = new ConnectionGuard(this.#server, config, metrics, config.log);
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  /** Listens on the configured address; resolves with the `wss://` (or `ws://`) URL agents and clients use. */
  async listen(): Promise<string> {
    const { listen, insecurePlaintext } = this.#config;
    this.#server.listen(listen.port, listen.host);
    await once(this.#server, 'listening');
    const address = this.#server.address() as AddressInfo;
    const hostForUrl = isIP(address.address) === 6 ? `[${address.address}]` : address.address;
    return `${insecurePlaintext ? 'ws' : 'wss'}://${hostForUrl}:${address.port}`;
  }

  /** Stops accepting connections; open ones stay. */
  stopListening(): void {
    this.#server.close();
  }

  /** Cuts every connection still open. */
  dropConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0];
    const role = path === '/v1/agent' ? 'agent' : path === '/v1/client' ? 'client' : undefined;
    // The spoke/1 HELLO is due within session.handshakeTimeoutMs (the hub's handshakeTimeoutMs unless set).
    this.#guard.established(socket);
    socket.on('error', () => {});
    if (role === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const verdict = this.#auth.authenticate(req, role);
    if (!verdict.ok) {
      this.#metrics.authFailures.inc({ role });
      // Say who and why, never what they presented.
      this.#config.log.warn(`refused ${role}: ${verdict.reason}`, {
        remote: peerOf(req),
        presented: req.headers.authorization ? 'bearer token' : 'nothing',
      });
      socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) =>
      verdict.credential !== undefined ? this.#sessions.acceptAgent(ws, req, verdict.credential) : this.#sessions.acceptClient(ws, req),
    );
  }
}
