import type { Session } from '@spoke/transport-core';
import { connectSession } from '../client.js';
import { startChild, type Child } from '../proc.js';

/**
 * The two relay topologies the spoke/1 rows compare, each a separate process:
 * client (this process) → relay → target. The baseline relay is a plain Node
 * TCP proxy; the subject is a spoke/1 session over a WebSocket to a relay
 * that serves dials with TCP (a hub's job). A second session rides
 * length-prefixed TCP to the same relay, to tell WebSocket costs apart.
 */
export interface SpokePaths {
  target: Child;
  tcpRelay: Child;
  spokeRelay: Child;
  targetPort: number;
  tcpRelayPort: number;
  /** spoke/1 over WebSocket. */
  session: Session;
  /** spoke/1 over length-prefixed TCP. */
  sessionTcp: Session;
  close(): Promise<void>;
}

/** Starts target, both relays and both sessions. */
export async function startSpokePaths(): Promise<SpokePaths> {
  const target = await startChild('target');
  const targetPort = Number(target.info['port']);
  const [tcpRelay, spokeRelay] = await Promise.all([startChild('tcp-relay', { targetPort }), startChild('spoke-relay')]);
  const session = await connectSession('ws', Number(spokeRelay.info['wsPort']));
  const sessionTcp = await connectSession('tcp', Number(spokeRelay.info['tcpPort']));
  return {
    target,
    tcpRelay,
    spokeRelay,
    targetPort,
    tcpRelayPort: Number(tcpRelay.info['port']),
    session,
    sessionTcp,
    async close() {
      session.destroy();
      sessionTcp.destroy();
      await Promise.all([tcpRelay.stop(), spokeRelay.stop()]);
      await target.stop();
    },
  };
}
