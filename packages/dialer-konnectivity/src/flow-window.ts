import type { Http2Session, Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import type { ChannelOptions, Server } from '@grpc/grpc-js';

/**
 * HTTP/2 receive window for every Konnectivity hop we run (client, server,
 * agent): 4 MiB per stream and per connection. Node's default (64 KiB) caps each
 * hop at one 64 KiB burst per round trip, which is what limited bulk transfers;
 * grpc-go grows its windows by BDP estimation to 16 MiB, so upstream peers
 * already send this much. Memory stays bounded by our per-connection queues
 * (the server's maxFrontendQueue), not by the window.
 */
export const FLOW_WINDOW = 4 * 1024 * 1024;

/** grpc-js channel options that open the window on a client channel. */
export const flowWindowChannelOptions: ChannelOptions = { 'grpc-node.flow_control_window': FLOW_WINDOW };

/**
 * Opens the window (and turns Nagle off) on every session a bound grpc-js server accepts. grpc-js
 * (1.14) has no server option for it, so this reaches its HTTP/2 servers after
 * `bindAsync` through an internal field; if a later grpc-js renames it, the
 * server still works, with Node's default window (test/flow-window.spec.ts then fails).
 */
export function openServerFlowWindow(server: Server): void {
  const http2Servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(http2Servers instanceof Map)) return;
  for (const h2 of http2Servers.keys()) {
    h2.on('session', (session: Http2Session) => {
      session.settings({ initialWindowSize: FLOW_WINDOW });
      session.setLocalWindowSize(FLOW_WINDOW);
    });
    // Accepted sockets keep Nagle on (grpc-js disables it only on its client side): a small
    // DIAL_REQ or DIAL_RSP could wait for the ACK of the previous write. (A unix socket ignores it.)
    h2.on('connection', (socket: Socket) => socket.setNoDelay(true));
  }
}
