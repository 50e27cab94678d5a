import net from 'node:net';
import { formatTarget, isLoopbackHost, type Dialer } from '@spoke/transport-core';
import { deadlineSignal } from '@spoke/transport-core/utils';
import { formatHelp, parseOrHelp, stringFlags, type OptionDefs, type ParsedValues } from '../args.js';
import { parseForwardSpec, parseListenAddress, type ForwardSpec, type ListenAddress } from '../addresses.js';
import type { Command, CommandContext } from '../command.js';
import { summaryOf } from './index.js';
import { VIA_OPTION, viaChain } from '../dialer-chain.js';
import { EXIT_FAILURE, EXIT_OK, UsageError } from '../errors.js';
import { openReverseForwards, reverseUnsupported } from '../reverse-forward.js';
import { peerName, relayClient, type RelayContext } from '../relay.js';
import { serveSocks5 } from '../proxy/socks5.js';
import { RELAY_OPTIONS, metricsFlag, relayDurations, runRelay, type RelayDurations } from '../relay-command.js';

// Time a -D client has to send its SOCKS5 greeting and request (as spoke proxy's --handshake-timeout default).
const SOCKS_HANDSHAKE_MS = 10_000;

/** Flags of `spoke forward` (also accepted by `spoke egress ... forward`). */
export const FORWARD_OPTIONS: OptionDefs = {
  local: {
    type: 'string',
    short: 'L',
    multiple: true,
    value: '[bind:]port:host:port',
    description: 'listen on bind:port (default bind 127.0.0.1; port 0 = any free port) and forward to host:port (or unix:/path)',
  },
  remote: {
    type: 'string',
    short: 'R',
    multiple: true,
    value: '[bind:]port:host:port',
    description:
      'reverse, as `ssh -R` and chisel R: the spoke hub of the last --via listens on bind:port (default bind 127.0.0.1) and each connection it accepts is forwarded, from here, to host:port (the hub must allow it: spoke hub --allow-reverse)',
  },
  dynamic: {
    type: 'string',
    short: 'D',
    multiple: true,
    value: '[bind:]port',
    description: 'a SOCKS5 proxy on bind:port (default bind 127.0.0.1) whose connections go through the --via hops, as `ssh -D`',
  },
  'no-command': {
    type: 'boolean',
    short: 'N',
    description: 'accepted for ssh habits (`ssh -N -L ...`): forward never runs a remote command',
  },
  ...RELAY_OPTIONS,
};

/** What `forward` listens on: `-L` forwards, `-D` SOCKS5 proxies, and `-R` listeners on the hub. */
export interface ForwardPlan {
  specs: ForwardSpec[];
  socks: ListenAddress[];
  reverse: ForwardSpec[];
}

/** Parses every `-L`, `-D` and `-R`; at least one of them is required. */
export function forwardPlan(values: ParsedValues, usage: string): ForwardPlan {
  const specs = stringFlags(values, 'local').map((spec) => parseForwardSpec(spec, usage));
  const socks = stringFlags(values, 'dynamic').map((text) => parseListenAddress(text, 'dynamic', usage));
  const reverse = stringFlags(values, 'remote').map((spec) => parseForwardSpec(spec, usage, '-R'));
  if (specs.length === 0 && socks.length === 0 && reverse.length === 0)
    throw new UsageError('give at least one -L [bind:]port:host:port, -R [bind:]port:host:port or -D [bind:]port', usage);
  return { specs, socks, reverse };
}

/**
 * Runs local listeners that forward each accepted connection to its target
 * through `dialer`, until SIGINT/SIGTERM. Shared by `spoke forward` and
 * `spoke egress ... forward`.
 */
export async function runForwarders(
  dialer: Dialer,
  { specs, socks, reverse }: ForwardPlan,
  durations: RelayDurations,
  outer: CommandContext,
  metrics?: ListenAddress,
): Promise<number> {
  const refused = new AbortController();
  const context: CommandContext = { ...outer, shutdown: AbortSignal.any([outer.shutdown, refused.signal]) };
  const code = await runRelay(
    {
      name: 'forward',
      dialer,
      durations,
      metrics,
      async open({ relay, listen }) {
        const lines: string[] = [];
        for (const spec of specs) {
          const target = formatTarget(spec.target);
          // allowHalfOpen: a client's EOF is passed on as a half-close, not answered by closing our side.
          const server = net.createServer({ allowHalfOpen: true }, (socket) => void forwardOne(relay, socket, spec));
          const bound = await listen(server, spec.listen);
          lines.push(`${bound} -> ${target}`);
          context.logger.info('forwarding', { listen: bound, target, via: dialer.kind });
        }
        for (const address of socks) {
          if (!isLoopbackHost(address.host)) {
            context.logger.warn(
              `-D listens beyond loopback (${address.host}) without authentication: use spoke proxy --auth-file for that`,
            );
          }
          const server = net.createServer({ allowHalfOpen: true }, (socket) => {
            relay.stats.accepted();
            relay.tracker.add(socket);
            socket.setNoDelay(true);
            socket.on('error', () => {});
            const handshake = deadlineSignal(SOCKS_HANDSHAKE_MS, context.shutdown);
            void serveSocks5(socket, relay, handshake.signal).finally(() => handshake.clear());
          });
          const bound = await listen(server, address);
          lines.push(`socks5 ${bound}`);
          context.logger.info('socks5 proxy', { listen: bound, via: dialer.kind });
        }
        // A hub that refuses a -R listener after a reconnect will refuse it again: stop, as a failure.
        lines.push(...(await openReverseForwards(dialer, reverse, relay, context, () => refused.abort())));
        return { lines };
      },
    },
    context,
  );
  return refused.signal.aborted && !outer.shutdown.aborted ? EXIT_FAILURE : code;
}

async function forwardOne(relay: RelayContext, socket: net.Socket, spec: ForwardSpec): Promise<void> {
  const client = peerName(socket);
  relay.stats.accepted();
  relay.tracker.add(socket);
  socket.setNoDelay(true);
  socket.on('error', () => {});
  try {
    await relayClient(relay, socket, spec.target, client);
  } catch {
    // A reset tells the local client the forward failed (dialForClient logged why).
    socket.resetAndDestroy();
  }
}

/** `spoke forward -L [bind:]port:host:port... [--via URI]...`: local TCP listeners forwarding through a dialer. */
export const forwardCommand: Command = {
  name: 'forward',
  summary: summaryOf('forward'),
  help: ({ registry }) =>
    formatHelp(
      'spoke forward [-L [bind:]port:host:port]... [-R [bind:]port:host:port]... [-D [bind:]port]... [--via URI]... [--connect-timeout DURATION] [--grace DURATION]',
      'Listens on each -L address (127.0.0.1 unless a bind address is given) and forwards every\nconnection to its host:port through the --via hops, like `ssh -L`; each -D is a SOCKS5 proxy\nwhose connections go through the same hops, like `ssh -D`. Each -R asks the spoke hub of the\nlast --via to listen on its side and forwards what it accepts to host:port from here, like\n`ssh -R` (the hub needs --allow-reverse; after a lost hub session it asks again, as chisel). Prints\none line with the addresses it listens on; shows live byte counters on stderr when it is a\nterminal. SIGINT/SIGTERM stop accepting and let open connections finish (a second signal exits at once).',
      { ...FORWARD_OPTIONS, via: VIA_OPTION },
      [
        [
          'Examples',
          'spoke forward -L 10250:10.0.0.5:10250 --via ssh://ops@bastion?known-hosts=known_hosts\nspoke forward -L 0.0.0.0:8443:kube-apiserver:443 -L 0:unix:/run/app.sock --via http-connect://proxy:3128\nspoke forward -R 9000:127.0.0.1:8080 --via "spoke+wss://hub:8443/?token-file=client.token&fingerprint=sha256:…"',
        ],
        ['Dialer URIs', registry.usage()],
      ],
    ),
  async run(argv, context) {
    const parsed = parseOrHelp(argv, forwardCommand, context, { ...FORWARD_OPTIONS, via: VIA_OPTION }, { max: 0 });
    if (!parsed) return EXIT_OK;
    const { values, usage } = parsed;
    const plan = forwardPlan(values, usage);
    const durations = relayDurations(values, usage);
    const dialer = viaChain(stringFlags(values, 'via'), context, usage);
    const unsupported = plan.reverse.length > 0 ? reverseUnsupported(dialer) : undefined;
    if (unsupported !== undefined) throw new UsageError(unsupported, usage);
    return runForwarders(dialer, plan, durations, context, metricsFlag(values, usage));
  },
};
