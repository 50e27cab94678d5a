import type { HubOptions } from '@spoke/hub';
import { parseAllowRule } from '@spoke/transport-core/utils';
import { integerFlag, stringFlag, stringFlags, type OptionDefs, type ParsedValues } from './args.js';
import { UsageError, inputStep } from './errors.js';
import { readTokenFile } from './files.js';

/** `spoke hub` flags for reverse listeners (`spoke forward -R`); off unless --allow-reverse is given. */
export const HUB_REVERSE_OPTIONS: OptionDefs = {
  'allow-reverse': {
    type: 'string',
    multiple: true,
    value: 'PORT[-PORT]|CIDR[:PORT[-PORT]]',
    description:
      'let clients (spoke forward -R) listen on this hub: PORT[-PORT] or "loopback" on 127.0.0.1/::1 only; CIDR[:PORT[-PORT]] or IP[:PORT[-PORT]] widens it (0.0.0.0 only if a rule contains it). Off by default',
  },
  'reverse-token-file': {
    type: 'string',
    value: 'F',
    description: 'client tokens (one a line) that may open reverse listeners; default every authenticated client',
  },
  'max-reverse-listeners': { type: 'string', value: 'N', description: 'reverse listeners one client may hold (default 8)' },
  'max-reverse-connections': { type: 'string', value: 'N', description: 'connections one reverse listener carries at once (default 64)' },
};

/** Port ranges on loopback only: what `--allow-reverse 9000-9100` and `--allow-reverse loopback` mean. */
function loopbackRules(ports: string | undefined): string[] {
  const suffix = ports === undefined ? '' : `:${ports}`;
  return [`127.0.0.0/8${suffix}`, `[::1/128]${suffix}`];
}

/** The hub's `reverse` option from the flags (nothing when --allow-reverse is absent). */
export function hubReverseOptions(values: ParsedValues, usage: string): Pick<HubOptions, 'reverse'> {
  const rules = stringFlags(values, 'allow-reverse');
  const tokenFile = stringFlag(values, 'reverse-token-file');
  if (rules.length === 0) {
    for (const flag of ['reverse-token-file', 'max-reverse-listeners', 'max-reverse-connections'])
      if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --allow-reverse`, usage);
    return {};
  }
  const allow = rules.flatMap((rule) => {
    if (rule === 'loopback') return loopbackRules(undefined);
    if (/^\d{1,5}(-\d{1,5})?$/.test(rule)) return loopbackRules(rule);
    // Checked here so the usage error names the flag; the hub checks again (no host names).
    inputStep(usage, () => parseAllowRule(rule, '--allow-reverse'));
    return [rule];
  });
  return {
    reverse: {
      allow,
      ...(tokenFile !== undefined ? { tokens: readTokenFile(tokenFile, 'reverse-token-file', usage) } : {}),
      maxListenersPerClient: integerFlag(values, 'max-reverse-listeners', 8, usage),
      maxConnectionsPerListener: integerFlag(values, 'max-reverse-connections', 64, usage),
    },
  };
}
