import { unlinkSync } from 'node:fs';
import net from 'node:net';
import { listen } from '@spoke/transport-core/utils';
import tls from 'node:tls';
import { GrpcServer } from '../grpc/grpc-server.js';
import type { PacketCall } from '../packet-call.js';
import { packetCodec } from '../packet-codec.js';
import type { Packet } from '../packets.js';
import { serveGrpcFrontend } from './grpc-frontend.js';
import { serveHttpFrontend } from './http-frontend.js';
import { gateEvents, type ServerMetrics } from './metrics.js';
import { ConnectionGate } from '../grpc/connection-gate.js';
import type { ServerSettings } from './server-options.js';
import type { TunnelCore } from './tunnel-core.js';

/** The listening front end, where kube-apiserver (or any Konnectivity client) asks for dials. */
export interface FrontEndListener {
  /** The TCP port; undefined on a unix socket. */
  readonly port: number | undefined;
  /** Stops accepting; open streams go on. */
  close(): Promise<void>;
  /** Stops accepting and drops every front-end connection. */
  destroy(): void;
}

/**
 * Listens for front-end connections in `--mode` (gRPC ProxyService or HTTP
 * CONNECT) on `--uds-name` without TLS, or on `--server-port` with mTLS, and
 * hands each dial to `core`.
 */
export async function listenFrontEnd(settings: ServerSettings, core: TunnelCore, metrics: ServerMetrics): Promise<FrontEndListener> {
  const { options } = settings;
  if (options.udsName !== undefined && (options.deleteExistingUdsFile ?? true)) {
    try {
      unlinkSync(options.udsName);
    } catch {
      // absent is fine
    }
  }
  return settings.mode === 'grpc' ? listenGrpc(settings, core, metrics) : listenHttpConnect(settings, core, metrics);
}

async function listenGrpc(settings: ServerSettings, core: TunnelCore, metrics: ServerMetrics): Promise<FrontEndListener> {
  const { options } = settings;
  const routes = {
    '/ProxyService/Proxy': (call: PacketCall) => {
      metrics.grpc('Proxy', 1);
      serveGrpcFrontend(call, core, () => metrics.grpc('Proxy', -1));
    },
  };
  let server: GrpcServer<Packet>;
  let port: number | undefined;
  if (options.udsName !== undefined) {
    server = new GrpcServer({ codec: packetCodec, routes });
    await server.listen({ path: options.udsName });
  } else {
    server = new GrpcServer({
      codec: packetCodec,
      routes,
      tls: { ...mtls(settings), requestCert: true },
      limits: settings.frontEndLimits,
      gateEvents: gateEvents(metrics, 'frontend', settings.log),
    });
    port = await server.listen({ port: options.serverPort ?? 8090, host: options.serverBindAddress });
  }
  return { port, close: () => server.close(), destroy: () => server.destroy() };
}

async function listenHttpConnect(settings: ServerSettings, core: TunnelCore, metrics: ServerMetrics): Promise<FrontEndListener> {
  const { options } = settings;
  const sockets = new Set<net.Socket>();
  let gate: ConnectionGate | undefined;
  const onSocket = (socket: net.Socket): void => {
    sockets.add(socket);
    metrics.httpConnections++;
    serveHttpFrontend(
      socket,
      core,
      () => {
        sockets.delete(socket);
        metrics.httpConnections--;
      },
      () => gate?.settled(socket),
    );
  };
  let server: net.Server;
  if (options.udsName !== undefined) server = net.createServer({ allowHalfOpen: true }, onSocket);
  else {
    const secure = tls.createServer(
      { ...mtls(settings), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', allowHalfOpen: true },
      onSocket,
    );
    // A failed handshake is the client's problem; the gate has closed or will close its socket.
    secure.on('tlsClientError', () => {});
    gate = new ConnectionGate(secure, settings.frontEndLimits, gateEvents(metrics, 'frontend', settings.log));
    server = gate.server;
  }
  const bound = await listen(
    server,
    options.udsName !== undefined ? { path: options.udsName } : { host: options.serverBindAddress ?? '', port: options.serverPort ?? 8090 },
    { what: 'The Konnectivity front end' },
  );
  return {
    port: typeof bound === 'string' ? undefined : bound.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    destroy() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** The front end's certificate, key and client CA (checked present by serverSettings for a TCP front end). */
function mtls(settings: ServerSettings): { cert: string | Buffer; key: string | Buffer; ca: string | Buffer } {
  const { serverCert, serverKey, serverCaCert } = settings.options;
  return { cert: serverCert as string | Buffer, key: serverKey as string | Buffer, ca: serverCaCert as string | Buffer };
}
