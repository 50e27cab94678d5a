/**
 * HTTP/2 receive window for every Konnectivity hop we run (client, server,
 * agent): 4 MiB per stream and per connection. Node's default (64 KiB) caps each
 * hop at one 64 KiB burst per round trip, which is what limited bulk transfers;
 * grpc-go grows its windows by BDP estimation to 16 MiB, so upstream peers
 * already send this much. Memory stays bounded by our per-connection queues
 * (the server's maxFrontendQueue), not by the window.
 */
export const FLOW_WINDOW = 4 * 1024 * 1024;

/**
 * Connection window of our server's HTTP/2 sessions: FLOW_WINDOW over TLS, 128 KiB in
 * cleartext (unix sockets). Node 20's HTTP/2 stops processing a cleartext unix-socket
 * session once its peer may have more unacknowledged bytes in flight than the socket
 * buffers (about 208 KiB by default on Linux): with 50 concurrent echo streams a 4 MiB or
 * 256 KiB connection window hung it, 128 KiB never did (plain node:http2 peers reproduce
 * it; TCP and TLS sessions do not). Streams keep their 4 MiB windows either way.
 */
export function connectionWindow(encrypted: boolean): number {
  return encrypted ? FLOW_WINDOW : 128 * 1024;
}

/**
 * Options of every HTTP/2 session our server and agent open: the 4 MiB stream window, and
 * the memory (MB) nghttp2 may hold for one session before it refuses new streams. Our own
 * queues bound what one connection holds; this only caps what a flood of streams could pin.
 */
export const http2SessionOptions = { settings: { initialWindowSize: FLOW_WINDOW }, maxSessionMemory: 256 } as const;
