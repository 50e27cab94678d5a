import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { isSpokeDialer, type ReverseConnection, type ReverseListener } from '@spoke/hub';
import { SpokeError, createNetDialer, formatTarget, type Dialer, type Target } from '@spoke/transport-core';
import { backoffDelay, createBackoff } from '@spoke/transport-core/utils';
import { formatListen, type ForwardSpec } from './addresses.js';
import type { CommandContext } from './command.js';
import { dialForClient, type RelayContext } from './relay.js';

/** Why `-R` cannot run through `dialer`, or undefined when it can (the last `--via` is a spoke hub). */
export function reverseUnsupported(dialer: Dialer): string | undefined {
  return isSpokeDialer(dialer)
    ? undefined
    : `-R opens its listener on a spoke hub: the last --via must be spoke+wss://HUB:PORT/?token-file=…, not ${dialer.kind}`;
}

/** Refusals that another attempt would meet again: the hub's policy, its version, our credential, its identity. */
const FATAL = new Set([
  'ERR_DIAL_DENIED',
  'ERR_VERSION_MISMATCH',
  'ERR_AUTH_FAILED',
  'ERR_CERT_PIN',
  'ERR_CERT_UNTRUSTED',
  'ERR_BAD_OPTION',
]);

// Between attempts to reopen a listener after the hub session ended (as spoke agent reconnects).
const REOPEN_BACKOFF = createBackoff({ initialDelayMs: 500, maxDelayMs: 30_000 });

/**
 * `spoke forward -R [bind:]port:host:hostport`: asks the hub at the end of the `--via` chain to
 * listen on `bind:port` on its side; each connection accepted there is connected, from this
 * machine, to `host:hostport` (exactly that target, whatever the hub asks). Resolves to one
 * banner entry per listener. When the hub session ends, each listener is asked for again (with
 * backoff, as chisel clients do) until the command stops; `fatal` runs (once) if the hub
 * refuses it in a way retrying cannot change (policy, version, credentials, identity).
 */
export async function openReverseForwards(
  dialer: Dialer,
  specs: readonly ForwardSpec[],
  relay: RelayContext,
  context: CommandContext,
  fatal: (err: SpokeError) => void,
): Promise<string[]> {
  if (specs.length === 0) return [];
  if (!isSpokeDialer(dialer)) throw new SpokeError('ERR_BAD_OPTION', reverseUnsupported(dialer) ?? '');
  // The targets of -R are reached from here, directly: the hops lead to the hub, not to them.
  const local: RelayContext = { ...relay, dialer: createNetDialer() };
  const lines: string[] = [];
  for (const spec of specs) {
    const target = formatTarget(spec.target);
    const bind = formatListen(spec.listen);
    const open = (): Promise<ReverseListener> =>
      dialer.listen(bind, (connection) => reverseOne(local, spec.target, connection), { signal: context.shutdown });
    const listener = await open();
    lines.push(`hub ${listener.bound} -> ${target}`);
    context.logger.info('reverse forwarding', { hub: listener.bound, target });
    void keepOpen(listener, open, target, context, fatal);
  }
  return lines;
}

// Waits for the listener's session to end, then asks for it again until that works, shutdown, or a fatal refusal.
async function keepOpen(
  first: ReverseListener,
  open: () => Promise<ReverseListener>,
  target: string,
  context: CommandContext,
  fatal: (err: SpokeError) => void,
): Promise<void> {
  const { logger, shutdown } = context;
  let listener = first;
  for (;;) {
    const ended = await listener.closed;
    if (shutdown.aborted) return;
    logger.warn('the hub session ended: asking the hub for the -R listener again', {
      hub: listener.bound,
      code: ended?.code ?? 'ERR_TUNNEL_CLOSED',
    });
    for (let attempt = 0; ; attempt++) {
      try {
        await delay(backoffDelay(REOPEN_BACKOFF, attempt), undefined, { signal: shutdown });
        const again = await open();
        if (again.bound !== listener.bound)
          logger.warn('the -R listener moved on the hub', { was: listener.bound, hub: again.bound, target });
        else logger.info('reverse forwarding again', { hub: again.bound, target });
        listener = again;
        break;
      } catch (err) {
        if (shutdown.aborted) return;
        const failure = SpokeError.from(err);
        if (FATAL.has(failure.code)) {
          logger.error('the hub refuses the -R listener', { bind: listener.bound, code: failure.code, error: failure.message });
          fatal(failure);
          return;
        }
        logger.warn('cannot reach the hub for the -R listener yet', { code: failure.code, attempt: attempt + 1 });
      }
    }
  }
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
