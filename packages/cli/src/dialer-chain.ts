import type { Dialer } from '@spoke/transport-core';
import type { OptionDef } from './args.js';
import type { CommandContext } from './command.js';
import { inputStep } from './errors.js';

/**
 * The dialer for `--via URI...` (first URI = outermost hop; none = direct TCP).
 * A malformed URI is a usage error listing the accepted forms.
 */
export function viaChain(vias: readonly string[], context: CommandContext, usage: string): Dialer {
  return inputStep(usage, () => context.registry.chain(vias, { warn: (message) => context.logger.warn(message) }));
}

/** The `--via URI...` flag, the same on every command that dials. */
export const VIA_OPTION: OptionDef = {
  type: 'string',
  multiple: true,
  value: 'URI',
  description: 'hop to dial through; repeat for a chain, the first is the outermost (default: direct TCP)',
};
