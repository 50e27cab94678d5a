import type { Command } from '../command.js';
import { dialCommand } from './dial.js';
import { forwardCommand } from './forward.js';
import { proxyCommand } from './proxy.js';
import { egressCommand } from './egress.js';
import { hubCommand } from './hub.js';
import { agentCommand } from './agent.js';
import { konnectivityCommand } from './konnectivity.js';
import { benchCommand } from './bench.js';

/**
 * The `spoke` command table, in help order. A new command is one file in this
 * folder exporting a {@link Command}, plus one line here.
 */
export const COMMANDS: readonly Command[] = [
  dialCommand,
  forwardCommand,
  proxyCommand,
  hubCommand,
  agentCommand,
  konnectivityCommand,
  egressCommand,
  benchCommand,
];
