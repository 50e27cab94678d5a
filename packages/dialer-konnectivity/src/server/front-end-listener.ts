import { chmodSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { listen } from '@spoke/transport-core/utils';
import { ConnectionGate, type ConnectionGateEvents, type ConnectionLimits } from '../grpc/connection-gate.js';
import { GrpcServer } from '../grpc/grpc-server.js';
import type { PacketCall } from '../packet-call.js';
import { packetCodec } from '../packet-codec.js';
import type { Packet } from '../packets.js';
import { serveGrpcFrontend } from './grpc-frontend.js';
import { serveHttpFrontend } from './http-frontend.js';
import { gateEvents, type ServerMetrics } from './metrics.js';
import type { ServerSettings } from './server-options.js';
import type { DialRouter } from './tunnel-core.js';

/** The listening front end, where kube-apiserver (or any Konnectivity client) asks for dials. */
export interface FrontEndListener {
  /** The TCP port; undefined on a unix socket. */
  readonly port: number | undefined;
  /** Stops accepting; open streams go on. */
  close(): Promise<void>;
  /** Stops accepting and drops every front-end connection. */
  destroy(): void;
}

/** Where and how one front end listens: a unix socket without TLS, or TCP with mTLS (client certificates required). */
export interface FrontEndSpec {
  mode: 'grpc' | 'http-connect';
  at:
    | { uds: string; deleteExisting: boolean; socketMode?: number }
    | { host: string; port: number; tls: { cert: string | Buffer; key: string | Buffer; ca: string | Buffer } };
  /** Caps and pre-auth deadline of TCP connections (a unix socket is guarded by its file permissions instead). */
  limits: ConnectionLimits;
  /** Counts: open Proxy streams and HTTP CONNECT connections (`delta` ±1), and the connection gate's reports. */
  hooks: { proxyStreams(delta: number): void; httpConnections(delta: number): void; gate: ConnectionGateEvents };
}

/** What the server's front end counts, in its metrics. */
function serverHooks(metrics: ServerMetrics, log: (message: string) => void): FrontEndSpec['hooks'] {
  return {
    proxyStreams: (delta) => metrics.grpc('Proxy', delta),
    httpConnections: (delta) => (metrics.httpConnections += delta),
    gate: gateEvents(metrics, 'frontend', log),
  };
}

/**
 * Listens for front-end connections in `--mode` (gRPC ProxyService or HTTP
 * CONNECT) on `--uds-name` without TLS, or on `--server-port` with mTLS, and
 * hands each dial to `core`.
 */
export function listenFrontEnd(settings: ServerSettings, core: DialRouter, metrics: ServerMetrics): Promise<FrontEndListener> {
  const { options } = settings;
  const at: FrontEndSpec['at'] =
    options.udsName !== undefined
      ? { uds: options.udsName, deleteExisting: options.deleteExistingUdsFile ?? true }
      : {
          host: options.serverBindAddress ?? '',
          port: options.serverPort ?? 8090,
          // serverSettings has checked all three present for a TCP front end.
          tls: {
            cert: options.serverCert as string | Buffer,
            key: options.serverKey as string | Buffer,
            ca: options.serverCaCert as string | Buffer,
          },
        };
  return listenFrontEndAt({ mode: settings.mode, at, limits: settings.frontEndLimits, hooks: serverHooks(metrics, settings.log) }, core);
}

/** Starts the front end `spec` describes, handing each dial to `router`. */
export function listenFrontEndAt(spec: FrontEndSpec, router: DialRouter): Promise<FrontEndListener> {
  if ('uds' in spec.at && spec.at.deleteExisting) {
    try {
      unlinkSync(spec.at.uds);
    } catch {
      // absent is fine
    }
  }
  return spec.mode === 'grpc' ? listenGrpc(spec, router) : listenHttpConnect(spec, router);
}

/** A unix socket's mode is set as soon as it is bound, before anyone is told where it is. */
function restrict(at: FrontEndSpec['at']): void {
  if ('uds' in at && at.socketMode !== undefined) chmodSync(at.uds, at.socketMode);
}

async function listenGrpc(spec: FrontEndSpec, router: DialRouter): Promise<FrontEndListener> {
  const { at, hooks } = spec;
  const routes = {
    '/ProxyService/Proxy': (call: PacketCall) => {
      hooks.proxyStreams(1);
      serveGrpcFrontend(call, router, () => hooks.proxyStreams(-1));
    },
  };
  let server: GrpcServer<Packet>;
  let port: number | undefined;
  if ('uds' in at) {
    server = new GrpcServer({ codec: packetCodec, routes });
    await server.listen({ path: at.uds });
  } else {
    server = new GrpcServer({
      codec: packetCodec,
      routes,
      tls: { ...at.tls, requestCert: true },
      limits: spec.limits,
      gateEvents: hooks.gate,
    });
    port = await server.listen({ port: at.port, host: at.host });
  }
  try {
    restrict(at);
  } catch (err) {
    server.destroy();
    throw err;
  }
  return { port, close: () => server.close(), destroy: () => server.destroy() };
}

async function listenHttpConnect(spec: FrontEndSpec, router: DialRouter): Promise<FrontEndListener> {
  const { at, hooks } = spec;
  const sockets = new Set<net.Socket>();
  let gate: ConnectionGate | undefined;
  const onSocket = (socket: net.Socket): void => {
    sockets.add(socket);
    hooks.httpConnections(1);
    serveHttpFrontend(
      socket,
      router,
      () => {
        sockets.delete(socket);
        hooks.httpConnections(-1);
      },
      () => gate?.settled(socket),
    );
  };
  let server: net.Server;
  if ('uds' in at) server = net.createServer({ allowHalfOpen: true }, onSocket);
  else {
    const secure = tls.createServer(
      { ...at.tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', allowHalfOpen: true },
      onSocket,
    );
    // A failed handshake is the client's problem; the gate has closed or will close its socket.
    secure.on('tlsClientError', () => {});
    gate = new ConnectionGate(secure, spec.limits, hooks.gate);
    server = gate.server;
  }
  const bound = await listen(server, 'uds' in at ? { path: at.uds } : { host: at.host, port: at.port }, {
    what: 'The Konnectivity front end',
  });
  const destroy = (): void => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  try {
    restrict(at);
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    port: typeof bound === 'string' ? undefined : bound.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    destroy,
  };
}
