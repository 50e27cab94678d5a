import { formatTarget, parseTarget, type Dialer, type Target } from '@spoke/transport-core';
import { durationFlag, formatHelp, parseOrHelp, stringFlags, type OptionDefs, type ParsedValues } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { summaryOf } from './index.js';
import { VIA_OPTION, viaChain } from '../dialer-chain.js';
import { EXIT_OK, UsageError, inputStep } from '../errors.js';
import { pipeStdio } from '../stdio-pipe.js';

/** Flags of `spoke dial`. */
export const DIAL_OPTIONS: OptionDefs = {
  via: VIA_OPTION,
  'connect-timeout': { type: 'string', value: 'DURATION', description: 'bound on the whole dial, handshakes included (default 30s)' },
};

const DEFAULT_TIMEOUT_MS = 30_000;

/** `--connect-timeout` in milliseconds (default 30 s). */
export function dialTimeoutMs(values: ParsedValues, usage: string): number {
  return durationFlag(values, 'connect-timeout', DEFAULT_TIMEOUT_MS, usage);
}

/**
 * Reads a dial target from one word (`host:port`, `[v6]:port`, `unix:/path`)
 * or two (`HOST PORT`, as OpenSSH's `%h %p`; a bare IPv6 host is fine).
 */
export function targetFromWords(words: readonly string[], usage: string): Target {
  if (words.length === 0) throw new UsageError('missing TARGET', usage);
  if (words.length > 2) throw new UsageError(`unexpected argument ${JSON.stringify(words[2])}`, usage);
  const [first = '', port] = words;
  const text = port === undefined ? first : `${first.includes(':') && !first.startsWith('[') ? `[${first}]` : first}:${port}`;
  return inputStep(usage, () => parseTarget(text));
}

/**
 * Dials `target` through `dialer` and joins it to stdin/stdout until the far
 * side ends. Shared by `spoke dial` and `spoke egress ... dial`.
 */
export async function dialStdio(dialer: Dialer, target: Target, timeoutMs: number, context: CommandContext): Promise<number> {
  const where = formatTarget(target);
  try {
    context.logger.debug('dialling', { target: where, via: dialer.kind });
    const stream = await dialer.dial(target, { signal: context.shutdown, timeoutMs });
    context.logger.debug('connected', { target: where });
    await pipeStdio(stream, context.io, context.shutdown);
    return EXIT_OK;
  } finally {
    await dialer.close().catch(() => {});
  }
}

/** `spoke dial TARGET [--via URI]...`: stdin/stdout through a dialer (works as ssh ProxyCommand). */
export const dialCommand: Command = {
  name: 'dial',
  summary: summaryOf('dial'),
  help: ({ registry }) =>
    formatHelp(
      'spoke dial TARGET [--via URI]... [--connect-timeout DURATION]\n       spoke dial HOST PORT [--via URI]...',
      'Opens one connection to TARGET (host:port, [v6]:port or unix:/path) and copies stdin to it and\nit to stdout. Closing stdin half-closes the connection; the command exits 0 once the far side\nhas finished sending, 1 if the dial or the connection fails.',
      DIAL_OPTIONS,
      [
        [
          'Examples',
          "spoke dial 10.0.0.5:10250 --via ssh://ops@bastion?known-hosts=known_hosts\nssh -o ProxyCommand='spoke dial %h %p --via ssh://ops@bastion:22?identity=id_ed25519' node-1",
        ],
        ['Dialer URIs', registry.usage()],
      ],
    ),
  async run(argv, context) {
    const parsed = parseOrHelp(argv, dialCommand, context, DIAL_OPTIONS);
    if (!parsed) return EXIT_OK;
    const { values, positionals, usage } = parsed;
    const target = targetFromWords(positionals, usage);
    const timeoutMs = dialTimeoutMs(values, usage);
    const dialer = viaChain(stringFlags(values, 'via'), context, usage);
    return dialStdio(dialer, target, timeoutMs, context);
  },
};
