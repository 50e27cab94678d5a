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

/**
 * Options of every HTTP/2 session our server and agent open: the 4 MiB stream window, and
 * the memory (MB) nghttp2 may hold for one session before it refuses new streams. Our own
 * queues bound what one connection holds; this only caps what a flood of streams could pin.
 */
export const http2SessionOptions = { settings: { initialWindowSize: FLOW_WINDOW }, maxSessionMemory: 256 } as const;
