import type { Command } from '../command.js';
import { dialCommand } from './dial.js';
import { forwardCommand } from './forward.js';
import { proxyCommand } from './proxy.js';

/**
 * The `spoke` command table, in help order. A new command is one file in this
 * folder exporting a {@link Command}, plus one line here.
 */
export const COMMANDS: readonly Command[] = [dialCommand, forwardCommand, proxyCommand];
