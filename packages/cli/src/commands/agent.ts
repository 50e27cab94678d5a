import { type TlsClientOptions } from '@spoke/transport-core';
import { createAgent } from '@spoke/hub';
import { booleanFlag, formatHelp, parseOrHelp, stringFlag, stringFlags, type OptionDefs } from '../args.js';
import type { Command } from '../command.js';
import { summaryOf } from './index.js';
import { VIA_OPTION, viaChain } from '../dialer-chain.js';
import { EXIT_OK, UsageError, inputStep } from '../errors.js';
import { readFlagFile, readFlagFileNow, readKeyPairFlags, readSecretFlagFile } from '../files.js';
import type http from 'node:http';
import { createMetricsRegistry } from '@spoke/transport-core/utils';
import { startMetricsServer } from '../metrics-server.js';
import { metricsFlag } from '../relay-command.js';
import { runService, type Service } from '../serve.js';

const OPTIONS: OptionDefs = {
  hub: {
    type: 'string',
    multiple: true,
    value: 'wss://HOST:PORT',
    description: 'hub to connect to; repeat for several hubs (or give one address in front of --hub-count hubs)',
  },
  id: { type: 'string', value: 'ID', description: "this agent's id (required)" },
  identifiers: {
    type: 'string',
    value: "'host=a&ipv4=10.0.0.5&cidr=10.0.0.0/24&default-route=true'",
    description: "what this agent serves, for the hub's routing (Konnectivity format)",
  },
  allow: {
    type: 'string',
    multiple: true,
    value: 'CIDR[:PORT[-PORT]]',
    description: 'targets this agent may dial; repeat (none: every dial is refused)',
  },
  'token-file': {
    type: 'string',
    value: 'FILE',
    description: "bearer token for the hub (re-read on every connect); a token the hub binds to an id ('ID TOKEN') needs --id ID",
  },
  ca: { type: 'string', value: 'FILE', description: 'PEM CA bundle that signed the hub certificate' },
  'hub-fingerprint': {
    type: 'string',
    value: 'sha256:HEX',
    description: 'pin the hub certificate (as `spoke hub` prints it) instead of --ca',
  },
  cert: {
    type: 'string',
    value: 'FILE',
    description: "PEM client certificate (mTLS) from the hub's --agent-ca; its subject CN must be --id",
  },
  key: { type: 'string', value: 'FILE', description: 'PEM key of --cert' },
  via: VIA_OPTION,
  metrics: {
    type: 'string',
    value: 'HOST:PORT',
    description:
      'serve /metrics, /healthz and /readyz here in plain HTTP (ready: a session with at least one hub); for probes and scraping, never on a tunnel port',
  },
  'insecure-plaintext': { type: 'boolean', description: 'connect with ws:// (loopback tests only)' },
};

/** `spoke agent --hub wss://HOST:PORT --id ID --allow CIDR...`: the node-network end of spoke's reverse tunnels. */
export const agentCommand: Command = {
  name: 'agent',
  summary: summaryOf('agent'),
  help: () =>
    formatHelp(
      "spoke agent --hub wss://HOST:PORT --id ID [--identifiers 'host=a&ipv4=10.0.0.5&default-route=true']\n                   --allow CIDR[:PORT[-PORT]]... [--token-file F] [--ca F | --hub-fingerprint sha256:HEX] [--cert F --key F]",
      "Dials out to the hub (verified by --ca or --hub-fingerprint), authenticates with a token or a client\ncertificate, and serves the hub's dials to targets inside --allow (host names are resolved, then\nchecked; everything else is refused with ERR_DIAL_DENIED). Reconnects with backoff. SIGINT/SIGTERM:\nannounce draining, let streams finish, exit.",
      OPTIONS,
      [
        [
          'Examples',
          "spoke agent --hub wss://hub.example:8443 --id node-1 --identifiers 'host=node-1&ipv4=10.0.0.5' \\\n  --allow 10.0.0.5/32:10250 --allow 10.0.0.0/24:80-443 --token-file /etc/spoke/agent.token --hub-fingerprint sha256:…",
        ],
      ],
    ),
  async run(argv, context) {
    const parsed = parseOrHelp(argv, agentCommand, context, OPTIONS, { max: 0 });
    if (!parsed) return EXIT_OK;
    const { values, usage } = parsed;
    const hubs = stringFlags(values, 'hub');
    const id = stringFlag(values, 'id');
    if (hubs.length === 0) throw new UsageError('--hub wss://HOST:PORT is required', usage);
    if (id === undefined) throw new UsageError('--id is required', usage);
    const clientCert = readKeyPairFlags(values, 'cert', 'key', usage);
    const caFile = stringFlag(values, 'ca');
    const fingerprint = stringFlag(values, 'hub-fingerprint');
    const tls: TlsClientOptions = {
      ...(caFile !== undefined ? { ca: readFlagFile(caFile, 'ca', usage) } : {}),
      ...(fingerprint !== undefined ? { fingerprint } : {}),
      ...clientCert,
    };
    const tokenFile = stringFlag(values, 'token-file');
    if (tokenFile !== undefined) readSecretFlagFile(tokenFile, 'token-file', usage);
    const insecure = booleanFlag(values, 'insecure-plaintext');
    if (insecure) context.logger.warn('--insecure-plaintext: connecting to the hub without TLS; use this only for tests on loopback');
    const allow = stringFlags(values, 'allow');
    const identifiers = stringFlag(values, 'identifiers');
    const via = stringFlags(values, 'via');
    const agent = inputStep(usage, () =>
      createAgent({
        hub: hubs,
        id,
        allow,
        tls,
        logger: context.logger,
        ...(identifiers !== undefined ? { identifiers } : {}),
        // Re-read on every connect: a file gone since the start is ERR_BAD_OPTION naming it, not a usage error the agent cannot code.
        ...(tokenFile !== undefined ? { token: () => readFlagFileNow(tokenFile, 'token-file').toString('utf8').trim() } : {}),
        ...(via.length > 0 ? { via: viaChain(via, context, usage) } : {}),
        ...(insecure ? { insecurePlaintext: true } : {}),
      }),
    );
    const metricsAddress = metricsFlag(values, usage);
    let metricsServer: http.Server | undefined;
    const service: Service = {
      close: async () => {
        await agent.close();
        metricsServer?.close();
      },
      destroy: () => {
        metricsServer?.close();
        agent.destroy();
      },
    };
    return runService(service, context, 'shutting down: draining', async () => {
      let metricsNote = '';
      if (metricsAddress) {
        const registry = createMetricsRegistry();
        registry.gauge('spoke_agent_hubs_connected', 'Hubs this agent has a session with.', () => agent.connectedHubs().length);
        registry.gauge('spoke_agent_hubs_configured', 'Hub addresses this agent was given (--hub).', () => hubs.length);
        const started = await startMetricsServer(
          metricsAddress,
          () => registry.render(),
          () => {
            const n = agent.connectedHubs().length;
            return { ok: n > 0, text: n > 0 ? `ok: ${n} hub(s)` : 'no hub session yet' };
          },
        );
        metricsServer = started.server;
        metricsNote = ` metrics=${started.url}`;
      }
      context.io.stdout.write(
        `spoke agent ${id}: connecting to ${hubs.join(', ')} (allow: ${allow.length > 0 ? allow.join(', ') : 'nothing'})${metricsNote}\n`,
      );
    });
  },
};
