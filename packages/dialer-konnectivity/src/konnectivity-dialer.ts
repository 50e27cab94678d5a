import type { Duplex } from 'node:stream';
import {
  SpokeError,
  dialerClosedError,
  formatTarget,
  isUnixTarget,
  parseTarget,
  runDial,
  type DialOptions,
  type Dialer,
  type Target,
  type ViaOption,
} from '@spoke/transport-core';
import { abortReasonToError, checkTimeout, onAbort } from '@spoke/transport-core/utils';
import { dialError, fromGrpcError } from './errors.js';
import type { GrpcChannel } from './grpc/grpc-channel.js';
import { connectServer, konnectivityChannel } from './connect-socket.js';
import { ConnectStream } from './connect-stream.js';
import { httpConnect } from './http-connect.js';
import { packetCodec } from './packet-codec.js';
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

/** How long connecting (and TLS) to the server may take, as grpc's default connect timeout. */
const CONNECT_TIMEOUT_MS = 20_000;

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
    throw new SpokeError(
      'ERR_BAD_OPTION',
      "Give exactly one of uds (the server's --uds-name socket) or url (host:port of its TLS front end).",
    );
  }
  const defaultTimeout = checkTimeout('timeoutMs', options.timeoutMs) ?? 30_000;
  const closeTimeoutMs = checkTimeout('closeTimeoutMs', options.closeTimeoutMs) ?? 10_000;
  const endGraceMs = checkTimeout('endGraceMs', options.endGraceMs) ?? 5_000;
  const server = serverAddress(options);
  const where = options.uds !== undefined ? `unix:${options.uds}` : `${server.host}:${server.port}`;
  let closed = false;
  let channel: GrpcChannel<Packet> | undefined;

  // A call refused unprocessed (it landed on a connection that was just closing) is tried
  // once more, on a fresh connection, as grpc's transparent retry does.
  const dialGrpc = (address: string, signal: AbortSignal): Promise<Duplex> =>
    dialGrpcOnce(address, signal, true).catch((err: unknown) => {
      if (err instanceof RefusedUnprocessed) return dialGrpcOnce(address, signal, false);
      throw err;
    });

  const dialGrpcOnce = async (address: string, signal: AbortSignal, mayRetry: boolean): Promise<Duplex> => {
    channel ??= konnectivityChannel(
      {
        server: options.uds !== undefined ? { path: options.uds } : server,
        tls: options.tls,
        via: options.via,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
      },
      packetCodec,
    );
    const call = await channel.call('/ProxyService/Proxy', signal);
    return new Promise((resolve, reject) => {
      const random = randomInt63();
      let detach = (): void => {};
      const done = (): void => {
        detach();
        call.removeListener('data', onPacket);
        call.removeListener('error', onError);
        call.removeListener('end', onEnd);
      };
      const abandon = (reason: unknown): void => {
        done();
        // Tell the server to forget the pending dial, as upstream's client does.
        if (!call.writableEnded) call.write(closeDial(random));
        call.finish(closeTimeoutMs);
        reject(abortReasonToError(reason));
      };
      const onError = (err: unknown): void => {
        done();
        call.finish(0);
        reject(mayRetry && call.refused ? new RefusedUnprocessed() : fromGrpcError(err, where, address));
      };
      const onEnd = (): void => {
        done();
        call.finish(0);
        reject(
          new SpokeError(
            'ERR_TUNNEL_CLOSED',
            `${where} ended the Proxy stream before answering the dial to ${address}. Check the server's logs.`,
            { target: address, hop: HOP },
          ),
        );
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
          call.finish(closeTimeoutMs);
          reject(dialError(rsp.error, address));
          return;
        }
        resolve(new ProxyStream({ call, connectID: rsp.connectID, target: address, where, closeTimeoutMs, endGraceMs }));
      };
      call.on('data', onPacket);
      call.on('error', onError);
      call.on('end', onEnd);
      detach = onAbort(signal, abandon);
      if (signal.aborted) return;
      call.write(dialRequest(address, random));
    });
  };

  const dialConnect = async (address: string, signal: AbortSignal): Promise<Duplex> => {
    const socket = await connectServer(options.uds !== undefined ? { path: options.uds } : server, options.tls, signal, options.via);
    try {
      return new ConnectStream(await httpConnect(socket, address, where, signal), endGraceMs);
    } catch (err) {
      socket.destroy();
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
        return Promise.reject(SpokeError.from(err, { hop: HOP }));
      }
      if (isUnixTarget(target)) {
        return Promise.reject(
          new SpokeError(
            'ERR_BAD_TARGET',
            `Konnectivity carries TCP only; ${formatTarget(target)} is a unix socket. Dial host:port instead.`,
            { target, hop: HOP },
          ),
        );
      }
      if (closed) {
        return Promise.reject(dialerClosedError('Konnectivity dialer', { target, hop: HOP }));
      }
      const address = formatTarget(target);
      const merged: DialOptions = { timeoutMs: defaultTimeout, ...dialOptions };
      return runDial(merged, { target, hop: HOP }, (signal) =>
        mode === 'grpc' ? dialGrpc(address, signal) : dialConnect(address, signal),
      );
    },
    close() {
      closed = true;
      // Established streams keep their own HTTP/2 streams; close() lets them finish.
      channel?.close();
      return Promise.resolve();
    },
  };
}

/** A Proxy call the server refused before processing it: safe to try again. */
class RefusedUnprocessed extends Error {}

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
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `Connecting to ${options.url} over TCP needs tls ({ ca, cert, key }): Konnectivity servers require mTLS on TCP front ends.`,
    );
  }
  return { host, port };
}
