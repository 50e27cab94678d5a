import tls from 'node:tls';
import { numberArg, type Role } from './role.js';
import { pipeToTarget, relayRole, type RelayState } from './tcp-relay.js';

/**
 * The yardstick of the user-path rows (issue 15): one Node process terminating
 * TLS and piping each connection to the target (`tls.createServer` + `pipe`
 * both ways), with the same certificate and key the hub serves.
 */
export function startTlsRelay(args: Record<string, unknown>): Promise<Role> {
  const targetPort = numberArg(args, 'targetPort');
  const state: RelayState = { sockets: new Set(), pairs: 0 };
  const server = tls.createServer({ cert: String(args['certPem']), key: String(args['keyPem']), allowHalfOpen: true }, (down) => {
    down.setNoDelay(true);
    pipeToTarget(down, targetPort, state);
  });
  return relayRole(server, state);
}
