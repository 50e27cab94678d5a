import { createDialerRegistry, type DialerRegistry, type DialerScheme } from '@spoke/transport-core';
import { spokeScheme } from '@spoke/hub';
import { httpConnectScheme, tlsScheme } from '@spoke/dialer-tls';
import { sshScheme } from '@spoke/dialer-ssh';
import { konnectivityScheme } from '@spoke/dialer-konnectivity';

/**
 * Every backend scheme the `spoke` binary understands, besides transport-core's
 * built-in `tcp://`: TLS and HTTP CONNECT, SSH, Konnectivity, and the spoke hub
 * client (`spoke+wss://`). A new backend is one import plus one entry here.
 */
export const CLI_SCHEMES: readonly DialerScheme[] = [tlsScheme, httpConnectScheme, sshScheme, konnectivityScheme, spokeScheme];

/** A registry with {@link CLI_SCHEMES} (and `tcp://`), plus any `extra` schemes of an embedding tool. */
export function createCliRegistry(extra: readonly DialerScheme[] = []): DialerRegistry {
  return createDialerRegistry([...CLI_SCHEMES, ...extra]);
}
