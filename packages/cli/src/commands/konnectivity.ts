import { openSync, writeSync } from 'node:fs';
import {
  createKonnectivityAgent,
  createKonnectivityServer,
  parseAgentFlags,
  parseServerFlags,
  type ParsedFlags,
} from '@spoke/dialer-konnectivity';
import { createLogger, type LogLevel } from '@spoke/transport-core';
import { announce } from '../announce.js';
import { GLOBAL_OPTIONS, formatHelp } from '../args.js';
import type { Command, CommandContext } from '../command.js';
import { summaryOf } from './index.js';
import { EXIT_OK, UsageError, asUsageError, inputStep } from '../errors.js';
import { checkSecretFileArgs } from '../files.js';
import { runService } from '../serve.js';

const SERVER_FLAGS = [
  '--mode grpc|http-connect                  front-end protocol (default grpc)',
  '--uds-name PATH                           front end on a unix socket (needs --server-port=0)',
  '--delete-existing-uds-file                remove a stale socket first',
  '--server-port N / --server-bind-address   TCP front end (mTLS; default 8090)',
  '--server-cert F --server-key F --server-ca-cert F   front-end TLS',
  '--agent-port N / --agent-bind-address     agent server (TLS; default 8091)',
  '--cluster-cert F --cluster-key F          agent server certificate (required)',
  '--cluster-ca-cert F                       authenticate agents by client certificate',
  '--agent-token-file F                      or by bearer tokens (one per line)',
  '--agent-namespace NS --agent-service-account SA --authentication-audience AUD [--kubeconfig F]',
  '                                          or by TokenReview of service-account tokens',
  '--insecure-accept-any-agent               spoke only: authenticate no agent (tests only; one of the three above is',
  '                                          otherwise required)',
  '--health-port N / --health-bind-address   /healthz /readyz /metrics (default 8092)',
  '--server-id ID --server-count N           HA: agents connect to N distinct servers',
  '--proxy-strategies default,destHost,defaultRoute,destCIDR',
  '--keepalive-time DURATION --backend-dial-timeout DURATION',
  '--log-file F [--logtostderr=false]         klog: append logs to F (and to stderr unless --logtostderr=false)',
  'spoke only, limits (README "Hardening"):',
  '--agent-max-connections N                 agent-port connections at once (default 1024)',
  '--agent-max-connections-per-address N     ... from one source address (default 64)',
  '--agent-max-concurrent-streams N          streams per agent connection (default 100)',
  '--server-max-connections N                mTLS front-end connections at once (default 4096)',
  '--server-max-connections-per-address N    ... from one source address (default 1024)',
  '--pre-auth-timeout DURATION               TLS handshake and first request, from accept (default 10s)',
].join('\n');

const AGENT_FLAGS = [
  "--proxy-server-host HOST --proxy-server-port N   the server's agent port (default 127.0.0.1:8091)",
  '--ca-cert F                                      CA that signed the server certificate',
  '--agent-cert F --agent-key F                     client certificate (mTLS)',
  '--service-account-token-path F                   bearer token, re-read on every connect',
  "--agent-id ID --agent-identifiers 'host=a&ipv4=10.0.0.5&default-route=true'",
  '--sync-interval D --sync-interval-cap D --sync-forever   reconnect loop (1s ×1.5 → 10s)',
  '--keepalive-time D                               gRPC keepalive (≥ 30s)',
  '--health-server-host H --health-server-port N    /healthz /readyz /metrics (default 8093)',
  '--admin-bind-address H --admin-server-port N     /metrics /healthz again (default 127.0.0.1; off unless given)',
  '--log-file F [--logtostderr=false]               klog: append logs to F (and to stderr unless --logtostderr=false)',
  '--allow CIDR[:PORT[-PORT]],...                   spoke only: destinations this agent may dial',
].join('\n');

/** Upstream flags are Go-style (`--name=value`); the CLI's own global flags are taken out first. */
function splitGlobal(argv: readonly string[]): { own: string[]; help: boolean; level: LogLevel } {
  const own: string[] = [];
  let help = false;
  // cli.ts has checked the value; a --log-file logger filters by it too.
  let level = 'info';
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    if (word === '--help' || word === '-h') help = true;
    else if (word === '--log-format') i++;
    else if (word === '--log-level') level = argv[++i] ?? level;
    else if (word.startsWith('--log-level=')) level = word.slice('--log-level='.length);
    else if (!word.startsWith('--log-format=')) own.push(word);
  }
  return { own, help, level: level as LogLevel };
}

function help(): string {
  return formatHelp(
    'spoke konnectivity server [upstream proxy-server flags]\n       spoke konnectivity agent [upstream proxy-agent flags]',
    "Drop-in replacements for apiserver-network-proxy's proxy-server and proxy-agent (wire-compatible with\nupstream's agents, servers and konnectivity-client), taking upstream's flag names and defaults, so\nthey fit existing manifests. Upstream flags we accept but do not implement are listed in a warning.",
    GLOBAL_OPTIONS,
    [
      ['server flags', SERVER_FLAGS],
      ['agent flags', AGENT_FLAGS],
      [
        'Examples',
        "spoke konnectivity server --uds-name=/etc/kubernetes/konnectivity-server/konnectivity-server.socket --server-port=0 \\\n  --cluster-cert=/etc/kubernetes/pki/konnectivity.crt --cluster-key=/etc/kubernetes/pki/konnectivity.key --agent-token-file=tokens\nspoke konnectivity agent --proxy-server-host=cp.example --ca-cert=ca.crt --service-account-token-path=token --agent-identifiers='host=node-1'",
      ],
    ],
  );
}

/**
 * Parses upstream proxy-server/proxy-agent flags. Flags that only mean something to the Go
 * binaries (pprof, lease-based server counting, channel sizes) are accepted so upstream command
 * lines start unchanged, and named in one warning so nobody relies on them silently.
 */
function upstreamFlags<O>(
  usage: string,
  context: CommandContext,
  level: LogLevel,
  parse: () => ParsedFlags<O>,
): { options: O; context: CommandContext } {
  const { options, ignored, log } = inputStep(usage, parse);
  if (ignored.length > 0) context.logger.warn('upstream flags with no effect in spoke, ignored', { flags: ignored.join(' ') });
  if (log.file === undefined) return { options, context };
  let fd: number;
  try {
    fd = openSync(log.file, 'a', 0o640);
  } catch (err) {
    throw new UsageError(`--log-file=${log.file}: ${(err as Error).message}`, usage);
  }
  // Synchronous appends: log lines are few, and none is lost when the process exits.
  const write = (line: string): void => {
    writeSync(fd, line);
    if (log.stderr) context.io.stderr.write(line);
  };
  return { options, context: { ...context, logger: createLogger({ format: context.logFormat, level, write }) } };
}

async function runServer(argv: readonly string[], given: CommandContext, usage: string, level: LogLevel): Promise<number> {
  checkSecretFileArgs(argv, ['cluster-key', 'server-key', 'agent-token-file'], usage);
  const { options, context } = upstreamFlags(usage, given, level, () => parseServerFlags(argv));
  const log = context.logger.child({ component: 'konnectivity-server' });
  const server = await createKonnectivityServer({
    ...options,
    log: (message) => log.info(message),
    warn: (message) => context.logger.warn(message),
  }).catch((err: unknown) => {
    throw asUsageError(err, usage);
  });
  return runService(server, context, 'shutting down', () => {
    const where = [
      options.udsName !== undefined
        ? `front=unix:${options.udsName}`
        : `front=${options.serverBindAddress ?? '0.0.0.0'}:${server.ports.server ?? ''}`,
      `agents=${options.agentBindAddress ?? '0.0.0.0'}:${server.ports.agent}`,
      ...(server.ports.health !== undefined ? [`health=${options.healthBindAddress ?? '0.0.0.0'}:${server.ports.health}`] : []),
    ];
    announce(context, 'konnectivity server', `mode=${options.mode ?? 'grpc'} ${where.join(' ')} id=${server.serverId}`, {
      mode: options.mode ?? 'grpc',
      addresses: where,
      id: server.serverId,
    });
  });
}

async function runAgent(argv: readonly string[], given: CommandContext, usage: string, level: LogLevel): Promise<number> {
  checkSecretFileArgs(argv, ['agent-key', 'service-account-token-path'], usage);
  const { options, context } = upstreamFlags(usage, given, level, () => parseAgentFlags(argv));
  const log = context.logger.child({ component: 'konnectivity-agent' });
  const agent = inputStep(usage, () => createKonnectivityAgent({ ...options, log: (message) => log.info(message) }));
  return runService(agent, context, 'shutting down: DRAIN sent', async () => {
    const [health, admin] = await Promise.all([agent.health, agent.admin]);
    const ports = [
      ...(health !== undefined ? [`health on port ${health}`] : []),
      ...(admin !== undefined ? [`admin on port ${admin}`] : []),
    ];
    context.io.stdout.write(
      `spoke konnectivity agent ${agent.agentId}: connecting to ${options.proxyServerHost ?? '127.0.0.1'}:${options.proxyServerPort ?? 8091}${ports.length > 0 ? ` (${ports.join(', ')})` : ''}\n`,
    );
  });
}

/** `spoke konnectivity server|agent [upstream flags]`: thin wrappers over @spoke/dialer-konnectivity. */
export const konnectivityCommand: Command = {
  name: 'konnectivity',
  summary: summaryOf('konnectivity'),
  help,
  async run(argv, context) {
    const [role, ...rest] = argv;
    const { own, help: wantsHelp, level } = splitGlobal(rest);
    if (wantsHelp || role === '--help' || role === '-h') {
      context.io.stdout.write(help());
      return EXIT_OK;
    }
    if (role === 'server') return runServer(own, context, help(), level);
    if (role === 'agent') return runAgent(own, context, help(), level);
    throw new UsageError(`give a role: server or agent${role === undefined ? '' : `, not ${JSON.stringify(role)}`}`, help());
  },
};
