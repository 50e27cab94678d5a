/**
 * A TCP proxy in forty lines: every accepted connection is piped through
 * `dialer.dial(target)`. With `createNetDialer()` it is a plain port forward;
 * hand it an SSH, Konnectivity or hub dialer and it forwards through that.
 * Shutdown stops accepting, aborts dials in flight and closes open connections.
 *
 *   npm run custom-tcp-proxy -- 127.0.0.1:8080 10.0.0.5:80
 */
import { once } from 'node:events';
import net from 'node:net';
import { pipeline } from 'node:stream';
import { SpokeError, createNetDialer, isAbortError, type Dialer } from '@spoke/transport-core';
import { runIfMain, type ExampleContext } from './program.js';

export interface TcpProxyOptions {
  /** Where to listen; port 0 picks a free one. */
  listen: { host: string; port: number };
  /** Where every connection goes, e.g. `10.0.0.5:80` (resolved by the dialer, so names resolve on its far side). */
  target: string;
  dialer: Dialer;
  log: (line: string) => void;
  /** Bound on each dial. Default 10 s. */
  dialTimeoutMs?: number;
}

/** A running proxy. */
export interface TcpProxy {
  /** `host:port` it listens on. */
  address: string;
  /** Stops accepting, aborts pending dials, closes every open connection. The dialer stays open (it is the caller's). */
  close(): Promise<void>;
}

export async function startTcpProxy({ listen, target, dialer, log, dialTimeoutMs = 10_000 }: TcpProxyOptions): Promise<TcpProxy> {
  const shutdown = new AbortController();
  const open = new Set<net.Socket>();
  let served = 0;
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const id = ++served;
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => {}); // reported through pipeline below, or irrelevant once the client is gone
    dialer.dial(target, { signal: shutdown.signal, timeoutMs: dialTimeoutMs }).then(
      (upstream) => {
        if (client.destroyed) return upstream.destroy();
        // Two pipelines give half-close in each direction; an error in either destroys both sockets.
        pipeline(client, upstream, () => {});
        pipeline(upstream, client, () => {});
        client.once('close', () => upstream.destroy());
      },
      (err: unknown) => {
        client.destroy();
        if (isAbortError(err)) return;
        const code = err instanceof SpokeError ? err.code : 'unexpected';
        switch (code) {
          case 'ERR_DIAL_REFUSED':
          case 'ERR_DIAL_TIMEOUT':
          case 'ERR_DIAL_UNREACHABLE':
            log(`connection ${id}: ${code}: ${target} cannot be reached, client closed`);
            break;
          case 'ERR_DIAL_DENIED':
          case 'ERR_AUTH_FAILED':
            log(`connection ${id}: ${code}: the dialer is not allowed to reach ${target}, client closed`);
            break;
          default:
            log(`connection ${id}: ${code}: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
    );
  });
  server.listen(listen.port, listen.host);
  await once(server, 'listening');
  const { address, port } = server.address() as net.AddressInfo;
  const bound = `${address}:${port}`;
  return {
    address: bound,
    async close() {
      shutdown.abort();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      await stopped;
      log(`closed after ${served} connection(s)`);
    },
  };
}

/** `HOST:PORT` or `[V6]:PORT` to listen on (port 0 allowed, unlike a dial target). */
function parseListen(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(text.slice(colon + 1));
  if (colon < 1 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SpokeError('ERR_BAD_TARGET', `Cannot listen on ${JSON.stringify(text)}: write HOST:PORT, e.g. 127.0.0.1:8080.`);
  }
  return { host, port };
}

/** Listens on `listen`, forwards to `target` until `signal` aborts, then shuts down. Resolves to an exit code. */
export async function main({
  listen,
  target,
  dialer,
  signal,
  log = console.log,
}: ExampleContext & { listen: string; target: string; dialer?: Dialer }): Promise<number> {
  const used = dialer ?? createNetDialer();
  let proxy: TcpProxy | undefined;
  try {
    proxy = await startTcpProxy({ listen: parseListen(listen), target, dialer: used, log });
    log(`listening on ${proxy.address}, forwarding to ${target} through ${used.kind}`);
    if (!signal.aborted) await once(signal, 'abort');
    return 0;
  } catch (err) {
    if (err instanceof SpokeError && err.code === 'ERR_BAD_TARGET') {
      log(`${err.code}: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    await proxy?.close();
    if (dialer === undefined) await used.close();
  }
}

runIfMain(import.meta.url, async (context, [listen, target]) => {
  if (listen === undefined || target === undefined) {
    context.log('usage: custom-tcp-proxy LISTEN_HOST:PORT TARGET_HOST:PORT');
    return 2;
  }
  return main({ ...context, listen, target });
});
