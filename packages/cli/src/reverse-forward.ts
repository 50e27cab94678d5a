import type { Duplex } from 'node:stream';
import { isSpokeDialer, type ReverseConnection } from '@spoke/hub';
import { SpokeError, createNetDialer, formatTarget, type Dialer, type Target } from '@spoke/transport-core';
import { formatListen, type ForwardSpec } from './addresses.js';
import type { CommandContext } from './command.js';
import { dialForClient, type RelayContext } from './relay.js';

/** Why `-R` cannot run through `dialer`, or undefined when it can (the last `--via` is a spoke hub). */
export function reverseUnsupported(dialer: Dialer): string | undefined {
  return isSpokeDialer(dialer)
    ? undefined
    : `-R opens its listener on a spoke hub: the last --via must be spoke+wss://HUB:PORT/?token-file=…, not ${dialer.kind}`;
}

/**
 * `spoke forward -R [bind:]port:host:hostport`: asks the hub at the end of the `--via` chain to
 * listen on `bind:port` on its side; each connection accepted there is connected, from this
 * machine, to `host:hostport` (exactly that target, whatever the hub asks). Resolves to one
 * banner entry per listener. `lost` runs (once) if the hub session carrying them ends while
 * the command still runs: the listeners are gone with it.
 */
export async function openReverseForwards(
  dialer: Dialer,
  specs: readonly ForwardSpec[],
  relay: RelayContext,
  context: CommandContext,
  lost: (err: SpokeError | undefined) => void,
): Promise<string[]> {
  if (specs.length === 0) return [];
  if (!isSpokeDialer(dialer)) throw new SpokeError('ERR_BAD_OPTION', reverseUnsupported(dialer) ?? '');
  // The targets of -R are reached from here, directly: the hops lead to the hub, not to them.
  const local: RelayContext = { ...relay, dialer: createNetDialer() };
  const lines: string[] = [];
  for (const spec of specs) {
    const target = formatTarget(spec.target);
    const bind = formatListen(spec.listen);
    const listener = await dialer.listen(bind, (connection) => reverseOne(local, spec.target, connection), { signal: context.shutdown });
    lines.push(`hub ${listener.bound} -> ${target}`);
    context.logger.info('reverse forwarding', { hub: listener.bound, target });
    void listener.closed.then((err) => {
      if (!context.shutdown.aborted) lost(err);
    });
  }
  return lines;
}

// One connection the hub accepted: dial the target here and hand the socket to the session to join.
async function reverseOne(relay: RelayContext, target: Target, { bound }: ReverseConnection): Promise<Duplex> {
  if (relay.signal.aborted) throw new SpokeError('ERR_TUNNEL_CLOSED', 'spoke forward is shutting down.');
  relay.stats.accepted();
  const upstream = await dialForClient(relay, target, `hub ${bound}`);
  // The far end is the session's stream, joined by the session: count this side's bytes both ways.
  relay.tracker.add(upstream);
  upstream.on('data', (chunk: Buffer) => relay.stats.received(chunk.length));
  upstream.once('close', () => relay.stats.sent((upstream as Partial<{ bytesWritten: number }>).bytesWritten ?? 0));
  return upstream;
}
