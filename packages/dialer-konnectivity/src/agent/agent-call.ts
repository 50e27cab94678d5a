import http2 from 'node:http2';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { FLOW_WINDOW, http2SessionOptions } from '../grpc/flow-window.js';
import { GrpcClientCall } from '../grpc/grpc-client-call.js';
import type { PacketClientCall } from '../packet-call.js';
import { packetCodec } from '../packet-codec.js';
import { GRPC_CONTENT_TYPE, GrpcCode, GrpcStatusError, metadataValues } from '../grpc/grpc-message.js';
import { keepAlive } from '../grpc/http2-keepalive.js';

/** Where and how an agent opens `/AgentService/Connect`. */
export interface AgentCallOptions {
  host: string;
  port: number;
  /** PEM CA bundle for the server certificate; absent = Node's default roots. */
  ca?: string | Buffer | undefined;
  /** Client certificate and key (mTLS). */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** Request metadata (agentid, agentidentifiers, authorization). */
  metadata: Record<string, string>;
  /** PING interval on the connection (grpc keepalive time). */
  keepaliveTimeMs: number;
  /** Give up when the server has not answered with headers by then. */
  handshakeTimeoutMs: number;
}

/** An open Connect stream and the metadata the server answered with. */
export interface OpenedAgentCall {
  call: PacketClientCall;
  /** Response header values by name (`serverid`, `servercount`, …). */
  metadata: (name: string) => string[];
}

/**
 * Connects (TLS, ALPN h2, 4 MiB windows, Nagle off) and opens the Connect
 * stream; resolves once the server has sent its response headers. Rejects
 * with a {@link GrpcStatusError} (UNAVAILABLE for connection failures, the
 * server's status for a refusal).
 */
export function openAgentCall(o: AgentCallOptions): Promise<OpenedAgentCall> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: o.host,
      port: o.port,
      ...(isIP(o.host) === 0 ? { servername: o.host } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.cert !== undefined && o.key !== undefined ? { cert: o.cert, key: o.key } : {}),
      ALPNProtocols: ['h2'],
      minVersion: 'TLSv1.2',
    });
    socket.setNoDelay(true);
    const authority = `${isIP(o.host) === 6 ? `[${o.host}]` : o.host}:${o.port}`;
    const session = http2.connect(`https://${authority}`, { ...http2SessionOptions, createConnection: () => socket });
    // Failures reach the call through its stream; the session itself must not throw.
    session.on('error', () => {});
    session.once('connect', () => session.setLocalWindowSize(FLOW_WINDOW));
    keepAlive(session, o.keepaliveTimeMs);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/AgentService/Connect',
      'content-type': GRPC_CONTENT_TYPE,
      te: 'trailers',
      'user-agent': 'spoke-konnectivity-agent',
      ...o.metadata,
    });
    // The connection is this call's alone (a fresh one per attempt): it goes when the call does.
    const call = new GrpcClientCall(stream, {
      codec: packetCodec,
      onDone: (cancelled) => (cancelled ? session.destroy() : session.close()),
    });
    const settle = (err?: GrpcStatusError): void => {
      clearTimeout(timer);
      call.removeListener('response', onResponse);
      call.removeListener('error', onError);
      call.removeListener('end', onEnd);
      if (err) {
        call.cancel();
        session.destroy();
        reject(err);
      }
    };
    const onResponse = (raw: readonly string[]): void => {
      settle();
      resolve({ call, metadata: (name) => metadataValues(raw, name) });
    };
    const onError = (err: Error): void =>
      settle(err instanceof GrpcStatusError ? err : new GrpcStatusError(GrpcCode.UNAVAILABLE, err.message));
    const onEnd = (): void => settle(new GrpcStatusError(GrpcCode.UNAVAILABLE, `${authority} ended the stream at once`));
    const timer = setTimeout(
      () => settle(new GrpcStatusError(GrpcCode.DEADLINE_EXCEEDED, `no answer from ${authority} within ${o.handshakeTimeoutMs} ms`)),
      o.handshakeTimeoutMs,
    );
    call.once('response', onResponse);
    call.once('error', onError);
    call.once('end', onEnd);
  });
}
