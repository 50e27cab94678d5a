import type { ChannelOptions } from '@grpc/grpc-js';

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

