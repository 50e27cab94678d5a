import { createDialerRegistry, type DialerRegistry, type DialerScheme } from '@spoke/transport-core';
import { httpConnectScheme, tlsScheme } from '@spoke/dialer-tls';
import { sshScheme } from '@spoke/dialer-ssh';

/**
 * Registration point for schemes that live outside the dialer packages the
 * CLI already imports: the hub client (`spoke+wss://`, transport-core's
 * `spokeScheme` once it exists) and Konnectivity (`konnectivity+grpc://` and
 * friends). Each entry is one import plus one line here.
 */
export const EXTRA_SCHEMES: readonly DialerScheme[] = [];

/** Every backend scheme the `spoke` binary understands, `tcp://` included. */
export function createCliRegistry(extra: readonly DialerScheme[] = EXTRA_SCHEMES): DialerRegistry {
  return createDialerRegistry([tlsScheme, httpConnectScheme, sshScheme, ...extra]);
}
