import { EGRESS_SELECTION_NAMES, type EgressSelectionName } from '@spoke/transport-core/egress';
import { createEgressSelector, loadEgressSelectorConfiguration } from '@spoke/dialer-tls';
import { konnectivityEgressBackend } from '@spoke/dialer-konnectivity';
import { formatHelp, parseOrHelp, stringFlag, type OptionDefs } from '../args.js';
import type { Command } from '../command.js';
import { summaryOf } from './index.js';
import { EXIT_OK, UsageError, inputStep } from '../errors.js';
import { dialStdio, dialTimeoutMs, targetFromWords } from './dial.js';
import { metricsFlag, relayDurations } from '../relay-command.js';
import { FORWARD_OPTIONS, forwardPlan, runForwarders } from './forward.js';

const OPTIONS: OptionDefs = {
  config: { type: 'string', value: 'FILE', description: "kube-apiserver's EgressSelectorConfiguration (--egress-selector-config-file)" },
  selection: {
    type: 'string',
    value: EGRESS_SELECTION_NAMES.join('|'),
    description: 'traffic class whose egress to use (master = controlplane)',
  },
  ...FORWARD_OPTIONS,
};

/**
 * `spoke egress --config FILE --selection NAME dial TARGET | forward -L ...`:
 * dial or forward exactly as kube-apiserver would egress for that traffic
 * class: Direct, HTTPConnect (UDS or mTLS TCP) or GRPC (Konnectivity).
 */
export const egressCommand: Command = {
  name: 'egress',
  summary: summaryOf('egress'),
  help: () =>
    formatHelp(
      `spoke egress --config FILE --selection ${EGRESS_SELECTION_NAMES.join('|')} dial TARGET [--connect-timeout DURATION]\n       spoke egress --config FILE --selection NAME forward -L [bind:]port:host:port... [--grace DURATION]`,
      "Reads an EgressSelectorConfiguration (apiserver.k8s.io/v1beta1 or v1alpha1) with kube-apiserver's\nrules and egresses like it for the selected traffic class: Direct connections, HTTP CONNECT through\na proxy on a unix socket or mTLS TCP, or Konnectivity gRPC. A class the file does not list is\ndialled directly, as kube-apiserver does. `dial` and `forward` behave as the top-level commands.",
      OPTIONS,
      [
        [
          'Examples',
          'spoke egress --config /etc/kubernetes/egress-selector.yaml --selection cluster dial 10.0.0.5:10250\nspoke egress --config egress.yaml --selection cluster forward -L 10250:10.0.0.5:10250',
        ],
      ],
    ),
  async run(argv, context) {
    const parsed = parseOrHelp(argv, egressCommand, context, OPTIONS);
    if (!parsed) return EXIT_OK;
    const { values, positionals, usage } = parsed;
    const configFile = stringFlag(values, 'config');
    const selection = stringFlag(values, 'selection');
    if (configFile === undefined) throw new UsageError('--config FILE is required', usage);
    if (selection === undefined) throw new UsageError(`--selection is required (${EGRESS_SELECTION_NAMES.join(', ')})`, usage);
    const [action, ...rest] = positionals;
    if (action !== 'dial' && action !== 'forward')
      throw new UsageError(
        `give an action: dial TARGET or forward -L ...${action === undefined ? '' : `, not ${JSON.stringify(action)}`}`,
        usage,
      );
    const config = inputStep(usage, () => loadEgressSelectorConfiguration(configFile));
    const selector = createEgressSelector(config, { grpc: (s) => konnectivityEgressBackend(s.connection) });
    const dialer = inputStep(usage, () => selector.dialerFor(selection as EgressSelectionName | 'master'));
    try {
      if (action === 'dial') {
        const target = targetFromWords(rest, usage);
        return await dialStdio(dialer, target, dialTimeoutMs(values, usage), context);
      }
      if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`, usage);
      return await runForwarders(dialer, forwardPlan(values, usage), relayDurations(values, usage), context, metricsFlag(values, usage));
    } finally {
      await selector.close().catch(() => {});
    }
  },
};
