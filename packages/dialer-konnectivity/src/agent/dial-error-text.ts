/**
 * The text an upstream (Go) agent would put in DIAL_RSP.error for a Node
 * connect error. Servers and clients classify dial failures by this text
 * (upstream's HTTP-CONNECT front end picks 502/503/504 from it), so we speak
 * the same words.
 */
export function goDialErrorText(err: unknown, address: string): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const host = address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  switch (code) {
    case 'ECONNREFUSED':
      return `dial tcp ${address}: connect: connection refused`;
    case 'ETIMEDOUT':
    case 'SPOKE_DIAL_TIMEOUT':
      return `dial tcp ${address}: i/o timeout`;
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return `dial tcp: lookup ${host}: no such host`;
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${host}: server misbehaving`;
    case 'EHOSTUNREACH':
      return `dial tcp ${address}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${address}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `dial tcp ${address}: connect: connection reset by peer`;
    case 'EMFILE':
      return `dial tcp ${address}: socket: too many open files`;
    default:
      return `dial tcp ${address}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * A DIAL_REQ address as an agent takes it: `host:port` or `[v6]:port` with a
 * port from 1 to 65535 (Konnectivity dials TCP only: no unix sockets), or the
 * DIAL_RSP error text an upstream agent gives for anything else.
 */
export function parseDialAddress(address: string): { host: string; port: number } | { error: string } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || !(port > 0 && port < 65536))
    return { error: `dial tcp ${address}: address ${address}: missing port in address` };
  return { host, port };
}
