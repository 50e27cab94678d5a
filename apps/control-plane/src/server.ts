import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Logger } from '@spoke/transport-core';
import { listen } from '@spoke/transport-core/utils';
import { rawJsonError } from './http-proxy.js';
import type { ControlPlaneOptions } from './options.js';
import { backendError, send } from './responses.js';

/** What the server hands requests and upgrades to. */
export interface RequestHandlers {
  request(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

/**
 * The HTTPS front: mutual TLS (kubectl's client certificate must chain to
 * `clientCa`), no request timeout (logs and exec stream for as long as they
 * run), every connection and upgraded socket tracked so close() ends them.
 * A handler that fails answers "error dialing backend" (or resets a response
 * already under way).
 */
export class ControlPlaneServer {
  private readonly server: https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly upgraded = new Set<Duplex>();

  constructor(tls: ControlPlaneOptions['tls'], handlers: RequestHandlers, logger: Logger) {
    this.server = https.createServer({
      cert: tls.cert,
      key: tls.key,
      ca: tls.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
    this.server.requestTimeout = 0;
    this.server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      handlers.request(req, res).catch((err: unknown) => {
        const e = err as Error;
        logger.warn('request failed', { method: req.method, path: req.url, error: e.message });
        if (!res.headersSent) send(res, backendError(e));
        else res.destroy();
      });
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.upgraded.add(socket);
      socket.once('close', () => this.upgraded.delete(socket));
      socket.on('error', () => socket.destroy());
      handlers.upgrade(req, socket, head).catch((err: unknown) => {
        const e = err as Error;
        logger.warn('upgrade failed', { path: req.url, error: e.message });
        const s = backendError(e);
        rawJsonError(socket, s.code as number, s);
      });
    });
  }

  /** Listens on `host:port`; a signal that aborts first closes the server and rejects with its reason. */
  async listen(host: string, port: number, signal?: AbortSignal): Promise<AddressInfo> {
    return (await listen(this.server, { host, port }, { what: 'The control plane', ...(signal ? { signal } : {}) })) as AddressInfo;
  }

  /** Stops accepting and destroys every connection and upgraded stream; resolves when the server has closed. */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.upgraded) s.destroy();
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
