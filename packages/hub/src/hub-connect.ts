import WebSocket from 'ws';
import type { Duplex } from 'node:stream';
import { SpokeError, connectTls, isLoopbackHost, viaOrDirect, type Dialer, type TlsClientOptions } from '@spoke/transport-core';
import { frameLimit } from '@spoke/transport-core/protocol';
import { abortReasonAsError, onAbort } from '@spoke/transport-core/utils';

const zeroMask = (mask: Buffer): void => void mask.fill(0);

/** How to reach a hub. */
export interface HubConnectOptions {
  /** `wss://host:port` (or `ws://` with `insecurePlaintext`). */
  url: string;
  /** Path on the hub: `/v1/agent` or `/v1/client`. */
  path: string;
  /** Bearer token. */
  token?: string;
  /** TLS verification of the hub: CA bundle and/or certificate fingerprint pin, client cert for mTLS. */
  tls?: TlsClientOptions;
  /** Allow `ws://` (no TLS). */
  insecurePlaintext?: boolean;
  /** Dialer used to reach the hub (SSH bastion, another hub...). Default direct TCP. */
  via?: Dialer;
  /** Largest frame payload the session will accept (for the WebSocket's maxPayload). */
  maxFrame?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * Called with the connection under the WebSocket: the stream `via` dialled
   * and, with TLS, the TLS socket over it (a client unreferences them while idle).
   */
  onConnection?: (...layers: Duplex[]) => void;
}

/**
 * Opens a WebSocket to a hub over `via`, with spoke's own TLS verification
 * (CA, pin or fingerprint, coded errors), and resolves once the upgrade
 * succeeded. A 401/403 from the hub is `ERR_AUTH_FAILED`.
 */
export async function connectToHub(options: HubConnectOptions): Promise<WebSocket> {
  const url = new URL(options.url);
  const secure = url.protocol === 'wss:' || url.protocol === 'spoke+wss:';
  if (!secure && !options.insecurePlaintext) {
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `Refusing to connect to ${url.host} without TLS. Use wss://, or pass insecurePlaintext (--insecure-plaintext) for a loopback test setup.`,
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (secure ? 443 : 80));
  const dialOpts = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  };
  const raw = await viaOrDirect(options.via).dial({ host, port }, dialOpts);
  const socket = secure ? await connectTls(raw, { host, hop: `hub ${url.host}` }, options.tls ?? {}, options.signal) : raw;
  options.onConnection?.(...(socket === raw ? [raw] : [socket, raw]));
  const wsUrl = `${secure ? 'wss' : 'ws'}://${url.host}${options.path}`;
  const ws = new WebSocket(wsUrl, {
    createConnection: () => socket as never,
    headers: options.token ? { Authorization: `Bearer ${options.token}` } : {},
    perMessageDeflate: false,
    maxPayload: frameLimit(options.maxFrame ?? 64 * 1024),
    handshakeTimeout: options.timeoutMs ?? 10_000,
    // Client masking defends cleartext intermediaries (RFC 6455 §10.3); inside TLS and on loopback
    // there are none, and a zero key lets ws send payloads without copying them (PROTOCOL.md §1).
    ...(secure || isLoopbackHost(host) ? { generateMask: zeroMask } : {}),
  });
  return new Promise((resolve, reject) => {
    const done = onAbort(options.signal, (reason) => {
      ws.terminate();
      reject(abortReasonAsError(reason));
    });
    ws.once('unexpected-response', (_req, res) => {
      done();
      const status = res.statusCode ?? 0;
      ws.terminate();
      reject(
        status === 401 || status === 403
          ? new SpokeError(
              'ERR_AUTH_FAILED',
              `The hub at ${url.host} refused our credentials (HTTP ${status}). Check the token file or client certificate.`,
              { hop: `hub ${url.host}` },
            )
          : new SpokeError(
              'ERR_PROTOCOL',
              `The hub at ${url.host} answered the WebSocket upgrade with HTTP ${status}. Check the URL: is it a spoke hub?`,
              { hop: `hub ${url.host}` },
            ),
      );
    });
    ws.once('open', () => {
      done();
      resolve(ws);
    });
    ws.once('error', (err) => {
      done();
      reject(SpokeError.from(err, { hop: `hub ${url.host}` }));
    });
  });
}
