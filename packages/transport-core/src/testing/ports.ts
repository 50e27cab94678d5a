import net from 'node:net';

async function kernelPort(host: string): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, host, resolve);
  });
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * A port on `host` that nothing listens on right now, for programs that need a
 * number on their command line (etcd, kube-apiserver, sshd) and cannot report
 * a port 0 back. The kernel picks it; the window before the program binds is
 * the price of not parsing their logs for an address.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return kernelPort(host);
}

/**
 * A free port on `host` inside 1024–49151: upstream Konnectivity's flags refuse
 * port 0 and ports outside that range, so the kernel's choice is retried until
 * it fits.
 */
export async function freeRegisteredPort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await kernelPort(host);
    if (port >= 1024 && port <= 49151) return port;
  }
}
