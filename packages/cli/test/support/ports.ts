import net from 'node:net';

/**
 * A 127.0.0.1 port free right now and inside 1024–49151: upstream
 * Konnectivity flags refuse port 0 and ports outside that range, so the
 * kernel's choice is retried until it fits.
 */
export async function freeRegisteredPort(): Promise<number> {
  for (;;) {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    if (port >= 1024 && port <= 49151) return port;
  }
}
