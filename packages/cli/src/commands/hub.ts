import { mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHub, type HubOptions } from '@spoke/hub';
import { announce } from '../announce.js';
import { booleanFlag, durationFlag, formatHelp, integerFlag, parseOrHelp, stringFlag, type OptionDefs } from '../args.js';
import { parseListenAddress } from '../addresses.js';
import type { Command } from '../command.js';
import { summaryOf } from './index.js';
import { EXIT_OK, asUsageError, inputStep } from '../errors.js';
import { generateTokenFile, readFlagFile, readKeyPairFlags, readSecretFlagFile, readTokenFile } from '../files.js';
import { hubNames, openHubState, parseTokenLines } from '../hub-state.js';
import { HUB_REVERSE_OPTIONS, hubReverseOptions } from '../hub-reverse.js';
import { HUB_EGRESS_OPTIONS, planHubEgress } from '../hub-egress.js';
import { hubInitCommand } from './hub-init.js';
import { hubTokenCommand } from './hub-token.js';
import { startMetricsServer } from '../metrics-server.js';
import { metricsFlag } from '../relay-command.js';
import { runService, type Service } from '../serve.js';
import { followTokenFiles, hubTokenSources } from '../token-reload.js';

const OPTIONS: OptionDefs = {
  'state-dir': {
    type: 'string',
    value: 'DIR',
    description:
      'keep the identity here: tls.crt/tls.key and agent-tokens/client-tokens are made once (0600) and reused, so agents keep the pinned fingerprint across restarts; the flags below override its files. Without it the identity is ephemeral: the certificate and generated tokens live as long as the process. See spoke hub init, spoke hub token',
  },
  listen: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'where agents and clients connect (WSS; default 127.0.0.1:8443, port 0 = any)',
  },
  'tls-cert': {
    type: 'string',
    value: 'FILE',
    description: 'PEM serving certificate (default: a self-signed one; its fingerprint is printed)',
  },
  'tls-key': { type: 'string', value: 'FILE', description: 'PEM key of --tls-cert' },
  'agent-ca': {
    type: 'string',
    value: 'FILE',
    description: "PEM CA bundle for agents (mTLS): an agent certificate's subject CN is the only --id it may announce",
  },
  'client-ca': {
    type: 'string',
    value: 'FILE',
    description: 'PEM CA bundle for clients (mTLS); its certificates are refused as agents (use a CA per role)',
  },
  'agent-token-file': {
    type: 'string',
    value: 'FILE',
    description:
      "agent bearer tokens, one per line: 'ID TOKEN' binds the token to agent ID (and ID to it), a bare 'TOKEN' takes any other id (default: one is generated; its path is printed)",
  },
  'client-token-file': {
    type: 'string',
    value: 'FILE',
    description: 'bearer tokens accepted from clients, one per line (default: one is generated)',
  },
  metrics: { type: 'string', value: 'HOST:PORT', description: 'serve /metrics, /healthz and /readyz on a separate plain-HTTP address' },
  id: { type: 'string', value: 'ID', description: 'hub id announced to agents (default: random)' },
  'hub-count': {
    type: 'string',
    value: 'N',
    description: 'hubs behind one address; agents connect until they reach N distinct hubs (default 1)',
  },
  'insecure-plaintext': { type: 'boolean', description: 'serve ws:// without TLS (loopback only; for tests)' },
  'max-connections': {
    type: 'string',
    value: 'N',
    description: 'connections held at once on the WSS port, and on --connect; more are closed as accepted (default 4096)',
  },
  'max-connections-per-address': {
    type: 'string',
    value: 'N',
    description: 'connections held at once from one source address, on each listener (default 256)',
  },
  'handshake-timeout': {
    type: 'string',
    value: 'DURATION',
    description: 'time from connecting to the upgrade or CONNECT request (TLS included), and again to the spoke/1 HELLO (default 10s)',
  },
  ...HUB_REVERSE_OPTIONS,
  ...HUB_EGRESS_OPTIONS,
};

/**
 * `--agent-token-file`: a line `ID TOKEN` binds the token to agent ID, a line `TOKEN` is a token for any id
 * (tokens never hold whitespace: a bearer token is one word, so old one-token-per-line files read as before).
 */
export function readAgentTokens(path: string, usage: string, flag = 'agent-token-file'): NonNullable<HubOptions['agentTokens']> {
  const text = readTokenFile(path, flag, usage).join('\n');
  return inputStep(usage, () => parseTokenLines(text, `--${flag} ${path}`, true)).map((t) =>
    t.id === undefined ? t.token : { id: t.id, token: t.token },
  );
}

/** `spoke hub --listen HOST:PORT ...`: the control-plane end of spoke's reverse tunnels. */
export const hubCommand: Command = {
  name: 'hub',
  summary: summaryOf('hub'),
  help: () =>
    formatHelp(
      'spoke hub --listen HOST:PORT [--state-dir DIR] [--tls-cert F --tls-key F] [--agent-ca F] [--client-ca F] [--agent-token-file F] [--client-token-file F]\n                 [--connect HOST:PORT|unix:/PATH] [--konnectivity-uds PATH] [--metrics HOST:PORT] [--insecure-plaintext]\n                 [--max-connections N] [--max-connections-per-address N] [--handshake-timeout DURATION]\n       spoke hub init --state-dir DIR [--listen HOST:PORT] [--show-tokens]\n       spoke hub token create|list|revoke --state-dir DIR ...',
      "Serves WSS for agents (which dial out from node networks) and for spoke+wss:// clients, and routes\neach client dial to an agent by host, then CIDR, then default route. Agents and clients must\nauthenticate, each role with its own credentials (bearer token, or mTLS with that role's CA). An\nagent certificate's CN or an 'ID TOKEN' line of --agent-token-file binds the agent id, and an id\nconnected from one credential is refused to another. Prints one line with the URL, the certificate\nfingerprint to pin and where the generated tokens are. --state-dir keeps the certificate and tokens\nacross restarts (without it they are ephemeral); token files are re-read within a second of a change.\nSIGINT/SIGTERM: GOAWAY, streams drain, then exit.",
      OPTIONS,
      [
        [
          'Examples',
          "spoke hub init --state-dir /var/lib/spoke-hub --listen 0.0.0.0:8443\nspoke hub --state-dir /var/lib/spoke-hub --listen 0.0.0.0:8443\nspoke hub --listen 0.0.0.0:8443 --agent-token-file agents.token --client-token-file clients.token\nspoke agent --hub wss://hub:8443 --id node-1 --token-file agents.token --hub-fingerprint sha256:… --allow 10.0.0.0/8\nspoke proxy --socks5 127.0.0.1:1080 --via 'spoke+wss://hub:8443/?token-file=clients.token&fingerprint=sha256:…'",
        ],
      ],
    ),
  async run(argv, context) {
    if (argv[0] === 'init') return hubInitCommand.run(argv.slice(1), context);
    if (argv[0] === 'token') return hubTokenCommand.run(argv.slice(1), context);
    const parsed = parseOrHelp(argv, hubCommand, context, OPTIONS, { max: 0 });
    if (!parsed) return EXIT_OK;
    const { values, usage } = parsed;
    const address = parseListenAddress(stringFlag(values, 'listen') ?? '127.0.0.1:8443', 'listen', usage);
    const stateDir = stringFlag(values, 'state-dir');
    const state = stateDir !== undefined ? inputStep(usage, () => openHubState(stateDir, hubNames(address.host))) : undefined;
    const tls =
      readKeyPairFlags(values, 'tls-cert', 'tls-key', usage) ??
      (state
        ? { cert: readFlagFile(state.files.cert, 'state-dir', usage), key: readSecretFlagFile(state.files.key, 'state-dir', usage) }
        : undefined);
    const insecure = booleanFlag(values, 'insecure-plaintext');
    const agentCaFile = stringFlag(values, 'agent-ca');
    const clientCaFile = stringFlag(values, 'client-ca');
    const metricsAddress = metricsFlag(values, usage);
    const agentTokenFile = stringFlag(values, 'agent-token-file') ?? state?.files.agentTokens;
    const clientTokenFile = stringFlag(values, 'client-token-file') ?? state?.files.clientTokens;
    const limits = {
      maxConnections: integerFlag(values, 'max-connections', 4096, usage),
      maxConnectionsPerAddress: integerFlag(values, 'max-connections-per-address', 256, usage),
      handshakeTimeoutMs: durationFlag(values, 'handshake-timeout', 10_000, usage),
    };
    const egress = planHubEgress(values, usage, tls, limits);
    const options: HubOptions = {
      listen: address,
      logger: context.logger,
      hubCount: integerFlag(values, 'hub-count', 1, usage),
      ...limits,
      ...(tls ? { tls } : {}),
      ...(agentCaFile !== undefined ? { agentCa: readFlagFile(agentCaFile, 'agent-ca', usage) } : {}),
      ...(clientCaFile !== undefined ? { clientCa: readFlagFile(clientCaFile, 'client-ca', usage) } : {}),
      ...(agentTokenFile !== undefined ? { agentTokens: readAgentTokens(agentTokenFile, usage) } : {}),
      ...(clientTokenFile !== undefined ? { clientTokens: readTokenFile(clientTokenFile, 'client-token-file', usage) } : {}),
      ...egress.hubOptions,
      ...(stringFlag(values, 'id') !== undefined ? { id: stringFlag(values, 'id') } : {}),
      ...(insecure ? { insecurePlaintext: true } : {}),
      ...hubReverseOptions(values, usage),
    };
    await egress.prepare();
    // Every flag is checked by now. A role with neither a token file nor a CA gets a generated token, so the hub is never open.
    const notes: string[] = [];
    let tokenDir: string | undefined;
    const generate = [
      ['agent-token-file', 'agentTokens', agentCaFile],
      ['client-token-file', 'clientTokens', clientCaFile],
    ] as const;
    if (generate.some(([, key, ca]) => ca === undefined && options[key] === undefined)) {
      tokenDir = mkdtempSync(join(tmpdir(), 'spoke-hub-'));
      for (const [flag, key, ca] of generate) {
        if (ca !== undefined || options[key] !== undefined) continue;
        const generated = generateTokenFile(`${flag.split('-')[0]}.token`, tokenDir);
        options[key] = [generated.token];
        notes.push(`${flag}=${generated.path}`);
      }
    }
    if (insecure) context.logger.warn('--insecure-plaintext: agents and clients connect without TLS; use this only for tests on loopback');
    const hub = await createHub(options).catch((err: unknown) => {
      if (tokenDir !== undefined) rmSync(tokenDir, { recursive: true, force: true });
      throw asUsageError(err, usage);
    });
    // Token files (given or the state dir's) are followed: `spoke hub token create|revoke` applies without a restart.
    const stopFollowing = followTokenFiles(
      hubTokenSources(
        hub,
        agentTokenFile !== undefined ? { path: agentTokenFile, read: () => readAgentTokens(agentTokenFile, usage) } : undefined,
        clientTokenFile !== undefined
          ? { path: clientTokenFile, read: () => readTokenFile(clientTokenFile, 'client-token-file', usage) }
          : undefined,
      ),
      context.logger,
    );
    let metricsServer: http.Server | undefined;
    const service: Service = {
      close: async () => {
        stopFollowing();
        metricsServer?.close();
        await Promise.all([egress.close(), hub.close()]);
      },
      destroy: () => {
        stopFollowing();
        metricsServer?.close();
        egress.destroy();
        hub.destroy();
        // Generated tokens are valid for this hub process only.
        if (tokenDir !== undefined) rmSync(tokenDir, { recursive: true, force: true });
      },
    };
    return runService(service, context, 'shutting down: GOAWAY sent, streams draining', async () => {
      const egressParts = await egress.start(hub, context.logger);
      const connectAddress = hub.connectAddress ?? egressParts.connect;
      if (metricsAddress) {
        const started = await startMetricsServer(
          metricsAddress,
          () => hub.metrics(),
          () => {
            const n = hub.agents().length;
            return { ok: n > 0, text: n > 0 ? `ok: ${n} agent(s)` : 'no agent connected' };
          },
        );
        metricsServer = started.server;
        notes.push(`metrics=${started.url}`);
      }
      const parts = [
        hub.url,
        ...(hub.fingerprint ? [`fingerprint=${hub.fingerprint}`] : []),
        ...(state ? [`state-dir=${state.files.dir}`] : []),
        ...(connectAddress ? [`connect=${connectAddress}`] : []),
        ...(egressParts.konnectivity ? [`konnectivity=${egressParts.konnectivity}`] : []),
        ...notes,
      ];
      announce(context, 'hub', parts.join(' '), {
        url: hub.url,
        ...(hub.fingerprint ? { fingerprint: hub.fingerprint } : {}),
        ...(connectAddress ? { connect: connectAddress } : {}),
        ...(egressParts.konnectivity ? { konnectivity: egressParts.konnectivity } : {}),
      });
      context.logger.info('hub ready', { id: hub.id, url: hub.url });
    });
  },
};
