import { randomInt } from 'node:crypto';
import net from 'node:net';

/**
 * A loopback port nothing listens on right now, for the Go programs that need
 * a number on their command line (etcd, kube-apiserver cannot report a port 0
 * back to us). The kernel picks it; the tiny window before the program binds
 * is the price of not parsing their logs for an address.
 */
export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A free port in 10000–32767 on `host`, for programs that take upstream
 * Konnectivity's flag rules (ports 1024–49151, so no 0). Below Linux's
 * ephemeral range, so no kernel-assigned port can take it meanwhile.
 */
export async function freeRegisteredPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + randomInt(22_768);
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    if (bound) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
  throw new Error(`no free port in 10000-32767 on ${host} after 50 attempts`);
}
