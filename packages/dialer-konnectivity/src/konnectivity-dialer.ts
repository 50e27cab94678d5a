import { credentials as grpcCredentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { Duplex } from 'node:stream';
import {
  SpokeError,
  checkTimeout,
  connectTls,
  formatTarget,
  isUnixTarget,
  parseTarget,
  runDial,
  type DialOptions,
  type Dialer,
  type Target,
  type ViaOption,
} from '@spoke/transport-core';
import { ProxyClient } from './packet-codec.js';
import { flowWindowChannelOptions } from './flow-window.js';
import type { ProxyServiceClient } from './gen/konnectivity-client/proto/client/client.js';
import { dialError, fromGrpcError } from './errors.js';
import { finishCall, type ProxyCall } from './grpc-call.js';
import { connectSocket } from './connect-socket.js';
import { deferEnd } from './deferred-end.js';
import { httpConnect } from './http-connect.js';
import { closeDial, dialRequest, PacketType, randomInt63, type Packet } from './packets.js';
import { ProxyStream } from './proxy-stream.js';

/** TLS settings for reaching a Konnectivity server over TCP (mTLS, as kube-apiserver does). */
export interface KonnectivityTlsOptions {
  /** PEM CA bundle that signed the server certificate. */
  ca?: string | Buffer;
  /** PEM client certificate. */
  cert?: string | Buffer;
  /** PEM client private key. */
  key?: string | Buffer;
  /** Name to verify the server certificate against. Default: the host of `url`. */
  servername?: string;
}

/** Options of {@link createKonnectivityDialer}. */
export interface KonnectivityDialerOptions extends ViaOption {
  /** `grpc` (ProxyService, one stream per dial) or `http-connect`. Default `grpc`. */
  mode?: 'grpc' | 'http-connect';
  /** Unix socket of the server's front end (its `--uds-name`). Exactly one of `uds` and `url`. */
  uds?: string;
  /** `host:port` (or `https://host:port`) of the server's TLS front end. */
  url?: string;
  /** TLS for `url` (required with `url`). */
  tls?: KonnectivityTlsOptions;
  /** Default dial timeout. Default 30000 ms (upstream's DIAL_RSP backstop). */
  timeoutMs?: number;
  /** Wait for CLOSE_RSP after CLOSE_REQ. Default 10000 ms (upstream's close timeout). */
  closeTimeoutMs?: number;
  /**
   * After `end()`, how long the read side stays open without data from the
   * destination before the connection is closed (Konnectivity has no
   * half-close). Default 5000 ms.
   */
  endGraceMs?: number;
}

const HOP = 'konnectivity';

/**
 * A Dialer that reaches destinations through a Konnectivity server
 * (apiserver-network-proxy), exactly as kube-apiserver does: in gRPC mode one
 * `/ProxyService/Proxy` stream per dial over one shared HTTP/2 connection, or
 * HTTP CONNECT over a unix socket or mTLS TCP.
 *
 * @example
 * ```ts
 * const dialer = createKonnectivityDialer({ mode: 'grpc', uds: '/etc/kubernetes/konnectivity-server/konnectivity-server.socket' });
 * const socket = await dialer.dial('10.0.0.5:10250', { signal: AbortSignal.timeout(5000) });
 * ```
 */
export function createKonnectivityDialer(options: KonnectivityDialerOptions): Dialer {
  const mode = options.mode ?? 'grpc';
  if (mode !== 'grpc' && mode !== 'http-connect') {
    throw new SpokeError('ERR_BAD_OPTION', `mode must be "grpc" or "http-connect", got ${JSON.stringify(mode)}.`);
  }
  if ((options.uds === undefined) === (options.url === undefined)) {
    throw new SpokeError('ERR_BAD_OPTION', 'Give exactly one of uds (the server\'s --uds-name socket) or url (host:port of its TLS front end).');
  }
  const defaultTimeout = checkTimeout('timeoutMs', options.timeoutMs) ?? 30_000;
  const closeTimeoutMs = checkTimeout('closeTimeoutMs', options.closeTimeoutMs) ?? 10_000;
  const endGraceMs = checkTimeout('endGraceMs', options.endGraceMs) ?? 5_000;
  const server = serverAddress(options);
  const where = options.uds !== undefined ? `unix:${options.uds}` : `${server.host}:${server.port}`;
  let closed = false;
  let client: ProxyServiceClient | undefined;

  const grpcClient = (): ProxyServiceClient => {
    if (options.via) {
      throw new SpokeError('ERR_BAD_OPTION', 'via is supported in http-connect mode only (grpc-js dials its own connections).');
    }
    client ??= new ProxyClient(grpcTarget(options, server), channelCredentials(options), channelOptions(options));
    return client;
  };

  const dialGrpc = (address: string, signal: AbortSignal): Promise<Duplex> =>
    new Promise((resolve, reject) => {
      let call: ProxyCall;
      try {
        call = grpcClient().proxy();
      } catch (err) {
        reject(err);
        return;
      }
      const random = randomInt63();
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        call.removeListener('data', onPacket);
        call.removeListener('error', onError);
        call.removeListener('end', onEnd);
      };
      const onAbort = (): void => {
        done();
        // Tell the server to forget the pending dial, as upstream's client does.
        if (!call.writableEnded) call.write(closeDial(random));
        finishCall(call, closeTimeoutMs);
        reject(signal.reason);
      };
      const onError = (err: unknown): void => {
        done();
        finishCall(call, 0);
        reject(fromGrpcError(err, where, address));
      };
      const onEnd = (): void => {
        done();
        finishCall(call, 0);
        reject(new SpokeError('ERR_TUNNEL_CLOSED', `${where} ended the Proxy stream before answering the dial to ${address}. Check the server's logs.`, { target: address, hop: HOP }));
      };
      const onPacket = (p: Packet): void => {
        if (p.type === PacketType.DIAL_CLS) {
          onEnd();
          return;
        }
        if (p.type !== PacketType.DIAL_RSP || p.dialResponse === undefined || p.dialResponse.random !== random) return;
        done();
        const rsp = p.dialResponse;
        if (rsp.error !== '') {
          finishCall(call, closeTimeoutMs);
          reject(dialError(rsp.error, address));
          return;
        }
        resolve(new ProxyStream({ call, connectID: rsp.connectID, target: address, where, closeTimeoutMs, endGraceMs }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      call.on('data', onPacket);
      call.on('error', onError);
      call.on('end', onEnd);
      call.write(dialRequest(address, random));
    });

  const dialConnect = async (address: string, signal: AbortSignal): Promise<Duplex> => {
    const raw = await connectSocket(options.uds !== undefined ? { path: options.uds } : server, signal, options.via);
    try {
      const socket = options.uds !== undefined ? raw : await connectTls(raw, { host: server.host, hop: HOP }, tlsClientOptions(options), signal);
      return deferEnd(await httpConnect(socket, address, where, signal), endGraceMs);
    } catch (err) {
      raw.destroy();
      throw err;
    }
  };

  return {
    kind: 'konnectivity',
    dial(input: Target | string, dialOptions?: DialOptions): Promise<Duplex> {
      let target: Target;
      try {
        target = parseTarget(input);
      } catch (err) {
        return Promise.reject(err);
      }
      if (isUnixTarget(target)) {
        return Promise.reject(new SpokeError('ERR_BAD_TARGET', `Konnectivity carries TCP only; ${formatTarget(target)} is a unix socket. Dial host:port instead.`, { target, hop: HOP }));
      }
      if (closed) {
        return Promise.reject(new SpokeError('ERR_DIALER_CLOSED', 'This Konnectivity dialer was closed. Create a new one to keep dialling.', { target, hop: HOP }));
      }
      const address = formatTarget(target);
      const merged: DialOptions = { timeoutMs: defaultTimeout, ...dialOptions };
      return runDial(merged, { target, hop: HOP }, (signal) => (mode === 'grpc' ? dialGrpc(address, signal) : dialConnect(address, signal)));
    },
    async close() {
      closed = true;
      // Established streams keep their own HTTP/2 streams; close() lets them finish.
      client?.close();
    },
  };
}

function serverAddress(options: KonnectivityDialerOptions): { host: string; port: number } {
  if (options.url === undefined) return { host: 'localhost', port: 0 };
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(options.url) ? options.url : `https://${options.url}`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new SpokeError('ERR_BAD_OPTION', `url must be host:port or https://host:port, got ${JSON.stringify(options.url)}.`);
  }
  const port = u.port === '' ? 8090 : Number(u.port);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (options.tls === undefined) {
    throw new SpokeError('ERR_BAD_OPTION', `Connecting to ${options.url} over TCP needs tls ({ ca, cert, key }): Konnectivity servers require mTLS on TCP front ends.`);
  }
  return { host, port };
}

function grpcTarget(options: KonnectivityDialerOptions, server: { host: string; port: number }): string {
  if (options.uds !== undefined) return `unix:${options.uds}`;
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

function channelCredentials(options: KonnectivityDialerOptions): ChannelCredentials {
  if (options.uds !== undefined) return grpcCredentials.createInsecure();
  const t = options.tls ?? {};
  return grpcCredentials.createSsl(toBuffer(t.ca), toBuffer(t.key), toBuffer(t.cert));
}

function channelOptions(options: KonnectivityDialerOptions): ChannelOptions {
  const o: ChannelOptions = {
    // Each dialer owns its connection; sharing subchannels across dialers would mix credentials.
    'grpc.use_local_subchannel_pool': 1,
    ...flowWindowChannelOptions,
  };
  const name = options.tls?.servername;
  if (name !== undefined) {
    o['grpc.ssl_target_name_override'] = name;
    o['grpc.default_authority'] = name;
  }
  return o;
}

function tlsClientOptions(options: KonnectivityDialerOptions): { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; servername?: string } {
  const t = options.tls ?? {};
  return {
    ...(t.ca !== undefined ? { ca: t.ca } : {}),
    ...(t.cert !== undefined ? { cert: t.cert } : {}),
    ...(t.key !== undefined ? { key: t.key } : {}),
    ...(t.servername !== undefined ? { servername: t.servername } : {}),
  };
}

function toBuffer(v: string | Buffer | undefined): Buffer | null {
  return v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
}
