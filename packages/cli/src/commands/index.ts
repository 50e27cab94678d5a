import type { Command } from '../command.js';

/**
 * One line of the `spoke` command table: the name and summary `spoke --help`
 * lists, and the module, imported only when the command runs (a hub does not
 * load the Konnectivity server, an agent not the proxy).
 */
export interface CommandEntry {
  /** The word after `spoke` (the loaded command's `name`). */
  readonly name: string;
  /** One line for `spoke --help` (the loaded command's `summary`). */
  readonly summary: string;
  /** Imports the command's module. */
  load(): Promise<Command>;
}

/**
 * The `spoke` command table, in help order. A new command is one file in this
 * folder exporting a {@link Command}, plus one entry here.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'dial',
    summary: 'join stdin/stdout to TARGET through the --via hops (usable as ssh ProxyCommand)',
    load: async () => (await import('./dial.js')).dialCommand,
  },
  {
    name: 'forward',
    summary: 'listen locally (-L) and forward each connection through the --via hops',
    load: async () => (await import('./forward.js')).forwardCommand,
  },
  {
    name: 'proxy',
    summary: 'SOCKS5 and HTTP proxy whose connections go through the --via hops',
    load: async () => (await import('./proxy.js')).proxyCommand,
  },
  {
    name: 'hub',
    summary: 'run a hub: agents connect out to it, clients dial node addresses through them',
    load: async () => (await import('./hub.js')).hubCommand,
  },
  {
    name: 'agent',
    summary: 'run an agent: connect out to the hub(s) and serve their dials inside --allow',
    load: async () => (await import('./agent.js')).agentCommand,
  },
  {
    name: 'konnectivity',
    summary: 'run a Konnectivity proxy-server or proxy-agent (upstream flags, wire-compatible)',
    load: async () => (await import('./konnectivity.js')).konnectivityCommand,
  },
  {
    name: 'egress',
    summary: "dial or forward through kube-apiserver's EgressSelectorConfiguration (Direct, HTTPConnect, GRPC)",
    load: async () => (await import('./egress.js')).egressCommand,
  },
  {
    name: 'bench',
    summary: 'measure dial latency and throughput through the --via hops against an echo service',
    load: async () => (await import('./bench.js')).benchCommand,
  },
];

/** The table's summary of `name`: the command modules take theirs from here, so help and table agree. */
export function summaryOf(name: string): string {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no command ${name} in the command table`);
  return entry.summary;
}
