import type { Duplex } from 'node:stream';
import {
  SpokeError,
  dialerClosedError,
  formatTarget,
  isAbortError,
  parseTarget,
  runDial,
  type DialOptions,
  type Dialer,
  type Logger,
  type Target,
} from '@spoke/transport-core';
import { asError } from '@spoke/transport-core/utils';
import type { AgentRegistry } from './agent-registry.js';
import type { HubMetrics } from './hub-metrics.js';

/** Opens a stream to `target` through the best connected agent (or only through the agent with id `onlyAgent`). */
export type AgentDial = (target: Target | string, options?: DialOptions, onlyAgent?: string) => Promise<Duplex>;

/** The hub's one way to reach a target: route to an agent, open a stream on its session, count it. */
export function createAgentDial(registry: AgentRegistry, metrics: HubMetrics, log: Logger): AgentDial {
  return (input, dialOptions, onlyAgent) => {
    let target: Target;
    try {
      target = parseTarget(input);
    } catch (err) {
      return Promise.reject(asError(err));
    }
    const t0 = performance.now();
    return runDial(dialOptions, { target, hop: 'hub' }, async (signal) => {
      const chosen = registry.pick('host' in target ? target.host : target.path, onlyAgent);
      if (!chosen) {
        throw new SpokeError(
          'ERR_NO_ROUTE',
          onlyAgent !== undefined
            ? `Agent "${onlyAgent}" is not connected to this hub. Check the agent's logs, or drop agent= to route by address.`
            : `No agent is connected to this hub to reach ${formatTarget(target)}. Start an agent (spoke agent --hub ...) in the node network.`,
          { target, hop: 'hub' },
        );
      }
      const stream = await chosen.agent.session.dial(target, { signal });
      log.debug('dial routed', { target: formatTarget(target), agent: chosen.agent.id, reason: chosen.reason });
      return stream;
    }).then(
      (stream) => {
        metrics.dialSeconds.observe((performance.now() - t0) / 1000);
        return stream;
      },
      (err: unknown) => {
        metrics.dialFailures.inc({ code: isAbortError(err) ? 'ABORT_ERR' : SpokeError.from(err).code });
        throw err;
      },
    );
  };
}

/** A Dialer view of the hub: closing it refuses further dials through the view but leaves the hub running. */
export function hubDialerView(dial: AgentDial): Dialer {
  let closed = false;
  return {
    kind: 'hub',
    dial: (t, o) => (closed ? Promise.reject(dialerClosedError('hub dialer', { hop: 'hub' })) : dial(t, o)),
    // Closing a view of the hub does not stop the hub (hub.close() does).
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}
