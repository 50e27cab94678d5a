import { SpokeError, formatTarget, isUnixTarget, type TcpTarget, type Target } from '@spoke/transport-core';
import type { RelayContext } from '../relay.js';

/**
 * Proxy front ends (SOCKS5, HTTP CONNECT, absolute-form requests) serve TCP
 * targets only. A proxy often runs with more rights than its clients; letting
 * them name `unix:/path` would hand them every socket the proxy's user can
 * open. A unix socket stays reachable as an explicit `spoke forward -L` target.
 * Refusals are logged and counted like the dial failures they stand in for.
 */
export function tcpTargetOnly(relay: RelayContext, target: Target, client: string): TcpTarget {
  if (!isUnixTarget(target)) return target;
  throw refuseUnix(relay, formatTarget(target), client);
}

/** The refusal for a target spelled `unix:...` (also a SOCKS5 domain name of that form), logged and counted. */
export function refuseUnix(relay: RelayContext, shown: string, client: string): SpokeError {
  relay.stats.dialFailed('ERR_DIAL_DENIED');
  relay.logger.warn('refused a unix socket target', { client, target: shown });
  return new SpokeError(
    'ERR_DIAL_DENIED',
    `${shown} is a unix socket: spoke proxy dials TCP targets only. Reach a unix socket with spoke forward -L PORT:unix:/path.`,
    { target: shown },
  );
}
