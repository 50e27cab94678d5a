import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Target } from '../target.js';
import type { ServedTarget } from './compliance/harness.js';

/**
 * Sockets this process has open (TCP, unix, socket pairs), counted from its file
 * descriptors: unlike {@link activeSockets} it also sees sockets that do not
 * keep the event loop alive, such as an idle pooled connection. Linux only.
 */
export function openSockets(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed while we looked (the directory's own descriptor, among others)
    }
  }
  return n;
}

/** Open TCP and pipe handles of this process that keep its event loop alive. */
export function activeSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'PipeWrap' || r === 'TCPWRAP' || r === 'PIPEWRAP')
    .length;
}

/** Serves `handler` on a TCP listener at 127.0.0.1, port 0. */
export async function serveTcp(handler: (s: Duplex) => void): Promise<ServedTarget> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    // Services see resets as part of the job (the reset tests cause them); observe them via 'close'.
    s.on('error', () => {});
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    handler(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    target: { host: '127.0.0.1', port },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A 127.0.0.1 port that was just free: connecting to it is refused. */
export async function closedTcpPort(): Promise<Target> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return { host: '127.0.0.1', port };
}
