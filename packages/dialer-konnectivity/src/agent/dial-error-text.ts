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
