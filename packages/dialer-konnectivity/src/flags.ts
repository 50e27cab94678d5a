import { existsSync, readFileSync } from 'node:fs';
import { SpokeError } from '@spoke/transport-core';
import { parseDuration } from '@spoke/transport-core/utils';
import type { KonnectivityAgentOptions } from './agent/konnectivity-agent.js';
import type { KonnectivityServerOptions } from './server/konnectivity-server.js';
import { PROXY_STRATEGIES, type ProxyStrategy } from './server/backends.js';
import type { TokenReviewOptions } from './server/token-review.js';

/** The result of parsing upstream-style flags. */
export interface ParsedFlags<T> {
  options: T;
  /** Upstream flags we accept for manifest compatibility but do not implement (warn about them). */
  ignored: string[];
  /**
   * klog's output flags, for the caller's logger: `--log-file` (append logs there) and whether stderr keeps
   * them (`--logtostderr=false` without `--alsologtostderr` sends them to the file only).
   */
  log: { file?: string; stderr: boolean };
}

/**
 * klog's flags, which upstream's binaries take next to their own (with dashes for underscores, as upstream
 * normalises them). The output ones are read by {@link logFlags}; klog's others (verbosity, headers…) are unknown flags.
 */
const KLOG_FLAGS: Record<string, Kind> = {
  'log-file': 'string',
  'log-file-max-size': 'int',
  logtostderr: 'bool',
  alsologtostderr: 'bool',
};

type Kind = 'string' | 'int' | 'bool' | 'duration' | 'file';

const SERVER_FLAGS: Record<string, Kind> = {
  mode: 'string',
  'uds-name': 'string',
  'delete-existing-uds-file': 'bool',
  'server-port': 'int',
  'server-bind-address': 'string',
  'server-cert': 'file',
  'server-key': 'file',
  'server-ca-cert': 'file',
  'agent-port': 'int',
  'agent-bind-address': 'string',
  'cluster-cert': 'file',
  'cluster-key': 'file',
  'cluster-ca-cert': 'file',
  'health-port': 'int',
  'health-bind-address': 'string',
  'admin-port': 'int',
  'admin-bind-address': 'string',
  'server-id': 'string',
  'server-count': 'int',
  'proxy-strategies': 'string',
  'keepalive-time': 'duration',
  'backend-dial-timeout': 'duration',
  'agent-token-file': 'string',
  kubeconfig: 'string',
  'agent-namespace': 'string',
  'agent-service-account': 'string',
  'authentication-audience': 'string',
  'insecure-accept-any-agent': 'bool',
  // spoke only: connection caps and the pre-auth deadline (issue 17 #7); upstream has no such flags.
  'agent-max-connections': 'int',
  'agent-max-connections-per-address': 'int',
  'agent-max-concurrent-streams': 'int',
  'server-max-connections': 'int',
  'server-max-connections-per-address': 'int',
  'pre-auth-timeout': 'duration',
};
const SERVER_IGNORED = new Set([
  'frontend-keepalive-time',
  'kubeconfig-qps',
  'kubeconfig-burst',
  'kube-api-content-type',
  'xfr-channel-size',
  'enable-lease-controller',
  'lease-namespace',
  'lease-label',
  'graceful-shutdown-timeout',
  'cipher-suites',
  'tls-min-version',
  'enable-profiling',
  'enable-contention-profiling',
  'warn-on-channel-limit',
  'feature-gates',
]);
const AGENT_FLAGS: Record<string, Kind> = {
  'proxy-server-host': 'string',
  'proxy-server-port': 'int',
  'ca-cert': 'file',
  'agent-cert': 'file',
  'agent-key': 'file',
  'agent-id': 'string',
  'agent-identifiers': 'string',
  'service-account-token-path': 'string',
  'sync-interval': 'duration',
  'sync-interval-cap': 'duration',
  'sync-forever': 'bool',
  'keepalive-time': 'duration',
  allow: 'string',
  'health-server-host': 'string',
  'health-server-port': 'int',
  'admin-server-port': 'int',
  'admin-bind-address': 'string',
};
const AGENT_IGNORED = new Set([
  'alpn-proto',
  'probe-interval',
  'xfr-channel-size',
  'warn-on-channel-limit',
  'count-server-leases',
  'lease-namespace',
  'lease-label-selector',
  'lease-label',
  'server-count-source',
  'kubeconfig',
  'kube-api-content-type',
  'enable-profiling',
  'enable-contention-profiling',
]);

function parse(
  argv: readonly string[],
  known: Record<string, Kind>,
  ignoredNames: Set<string>,
): { values: Map<string, string | number | boolean | Buffer>; ignored: string[] } {
  const values = new Map<string, string | number | boolean | Buffer>();
  const ignored: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--?([a-z0-9_-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new SpokeError('ERR_BAD_OPTION', `Unexpected argument ${JSON.stringify(arg)}; flags look like --name=value.`);
    // Upstream normalises flag names (klog's log_file is --log-file); so do we.
    const name = (m[1] as string).replaceAll('_', '-');
    let value = m[2];
    const kind = known[name] ?? KLOG_FLAGS[name];
    if (kind === undefined && !ignoredNames.has(name)) throw new SpokeError('ERR_BAD_OPTION', `Unknown flag --${name}.`);
    if (value === undefined) {
      const next = argv[i + 1];
      if (kind === 'bool' || next === undefined || next.startsWith('--')) value = kind === 'bool' || kind === undefined ? 'true' : '';
      else {
        value = next;
        i++;
      }
    }
    if (kind === undefined) {
      ignored.push(`--${name}`);
      continue;
    }
    switch (kind) {
      case 'int': {
        const n = Number(value);
        if (!Number.isInteger(n)) throw new SpokeError('ERR_BAD_OPTION', `--${name} needs an integer, got ${JSON.stringify(value)}.`);
        values.set(name, n);
        break;
      }
      case 'bool':
        if (!['true', 'false', '1', '0'].includes(value))
          throw new SpokeError('ERR_BAD_OPTION', `--${name} needs true or false, got ${JSON.stringify(value)}.`);
        values.set(name, value === 'true' || value === '1');
        break;
      case 'duration':
        values.set(name, parseDuration(value, { name: `--${name}` }));
        break;
      case 'file':
        if (value === '') break;
        try {
          values.set(name, readFileSync(value));
        } catch (err) {
          throw new SpokeError('ERR_BAD_OPTION', `Cannot read --${name}=${value}: ${(err as Error).message}.`, { cause: err });
        }
        break;
      default:
        values.set(name, value);
    }
  }
  return { values, ignored };
}

/** klog's output flags. spoke appends to --log-file without a size cap, so only a cap of 0 (none) is accepted. */
function logFlags(v: Map<string, unknown>): ParsedFlags<unknown>['log'] {
  const file = v.get('log-file');
  const maxSize = v.get('log-file-max-size');
  if (maxSize !== undefined && maxSize !== 0)
    throw new SpokeError(
      'ERR_BAD_OPTION',
      `--log-file-max-size=${maxSize as number}: spoke appends to --log-file without a size cap; give --log-file-max-size=0 and rotate the file with logrotate (copytruncate).`,
    );
  const stderr = v.get('logtostderr') !== false || v.get('alsologtostderr') === true || typeof file !== 'string' || file === '';
  return { ...(typeof file === 'string' && file !== '' ? { file } : {}), stderr };
}

/** spoke's connection-limit flags: counts of at least 1 (the library checks the per-address cap against the total). */
const LIMIT_FLAGS = [
  'agent-max-connections',
  'agent-max-connections-per-address',
  'agent-max-concurrent-streams',
  'server-max-connections',
  'server-max-connections-per-address',
];

function checkPort(name: string, port: number | undefined, allowZero = false): void {
  if (port === undefined || (allowZero && port === 0)) return;
  if (port < 1024 || port > 49151)
    throw new SpokeError('ERR_BAD_OPTION', `--${name}=${port} must be between 1024 and 49151 (as upstream requires).`);
}

/** Parses upstream proxy-server flags into {@link KonnectivityServerOptions} (certificate files are read). */
export function parseServerFlags(argv: readonly string[]): ParsedFlags<KonnectivityServerOptions> {
  const { values: v, ignored } = parse(argv, SERVER_FLAGS, SERVER_IGNORED);
  const get = <T>(k: string): T | undefined => v.get(k) as T | undefined;
  const mode = get<string>('mode') ?? 'grpc';
  if (mode !== 'grpc' && mode !== 'http-connect')
    throw new SpokeError('ERR_BAD_OPTION', `--mode must be grpc or http-connect, got ${JSON.stringify(mode)}.`);
  const uds = get<string>('uds-name') || undefined;
  const serverPort = get<number>('server-port');
  if (uds !== undefined && serverPort !== undefined && serverPort !== 0)
    throw new SpokeError('ERR_BAD_OPTION', '--uds-name needs --server-port=0.');
  checkPort('server-port', serverPort, uds !== undefined);
  checkPort('agent-port', get<number>('agent-port'));
  checkPort('health-port', get<number>('health-port'));
  checkPort('admin-port', get<number>('admin-port'));
  for (const flag of LIMIT_FLAGS) {
    const n = get<number>(flag);
    if (n !== undefined && n < 1) throw new SpokeError('ERR_BAD_OPTION', `--${flag} must be at least 1, got ${n}.`);
  }
  const clusterCert = get<Buffer>('cluster-cert');
  const clusterKey = get<Buffer>('cluster-key');
  if (!clusterCert || !clusterKey)
    throw new SpokeError('ERR_BAD_OPTION', '--cluster-cert and --cluster-key are required (the agent server always uses TLS).');
  const strategies = (get<string>('proxy-strategies') ?? 'default')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of strategies)
    if (!PROXY_STRATEGIES.includes(s as ProxyStrategy))
      throw new SpokeError('ERR_BAD_OPTION', `--proxy-strategies: unknown ${JSON.stringify(s)}; use ${PROXY_STRATEGIES.join(', ')}.`);
  const tokenFile = get<string>('agent-token-file');
  const tokenReview = tokenReviewFlags(get, ignored);
  if (tokenReview && tokenFile)
    throw new SpokeError(
      'ERR_BAD_OPTION',
      '--agent-token-file and --agent-namespace (TokenReview) are exclusive; pick one agent token check.',
    );
  const agentTokens = tokenFile === undefined || tokenFile === '' ? undefined : readTokens(tokenFile);
  const options: KonnectivityServerOptions = {
    mode,
    clusterCert,
    clusterKey,
    proxyStrategies: strategies as ProxyStrategy[],
    ...(uds !== undefined ? { udsName: uds, serverPort: 0 } : {}),
    ...(tokenReview ? { tokenReview } : {}),
    ...(agentTokens ? { agentTokens } : {}),
  };
  const o = options as unknown as Record<string, unknown>;
  const map: Array<[string, string]> = [
    ['delete-existing-uds-file', 'deleteExistingUdsFile'],
    ['server-port', 'serverPort'],
    ['server-bind-address', 'serverBindAddress'],
    ['server-cert', 'serverCert'],
    ['server-key', 'serverKey'],
    ['server-ca-cert', 'serverCaCert'],
    ['agent-port', 'agentPort'],
    ['agent-bind-address', 'agentBindAddress'],
    ['cluster-ca-cert', 'clusterCaCert'],
    ['health-port', 'healthPort'],
    ['health-bind-address', 'healthBindAddress'],
    ['admin-port', 'adminPort'],
    ['admin-bind-address', 'adminBindAddress'],
    ['server-id', 'serverId'],
    ['server-count', 'serverCount'],
    ['keepalive-time', 'keepaliveTimeMs'],
    ['backend-dial-timeout', 'backendDialTimeoutMs'],
    ['insecure-accept-any-agent', 'insecureAcceptAnyAgent'],
    ['agent-max-connections', 'agentMaxConnections'],
    ['agent-max-connections-per-address', 'agentMaxConnectionsPerAddress'],
    ['agent-max-concurrent-streams', 'agentMaxConcurrentStreams'],
    ['server-max-connections', 'serverMaxConnections'],
    ['server-max-connections-per-address', 'serverMaxConnectionsPerAddress'],
    ['pre-auth-timeout', 'preAuthTimeoutMs'],
  ];
  for (const [flag, key] of map) if (v.has(flag) && o[key] === undefined) o[key] = v.get(flag);
  return { options, ignored, log: logFlags(v) };
}

/** The tokens of `--agent-token-file`, one per line; a file with none would leave the agent port open. */
function readTokens(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpokeError('ERR_BAD_OPTION', `Cannot read --agent-token-file=${file}: ${(err as Error).message}.`, { cause: err });
  }
  const tokens = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (tokens.length === 0) throw new SpokeError('ERR_BAD_OPTION', `--agent-token-file=${file} holds no token.`);
  return tokens;
}

/** Upstream's token-auth flag rules: namespace turns it on and needs the service account and audience, and no --cluster-ca-cert. */
function tokenReviewFlags(get: <T>(k: string) => T | undefined, ignored: string[]): TokenReviewOptions | undefined {
  const namespace = get<string>('agent-namespace') || undefined;
  const serviceAccount = get<string>('agent-service-account') || undefined;
  const audience = get<string>('authentication-audience') || undefined;
  const kubeconfig = get<string>('kubeconfig') || undefined;
  if (namespace === undefined) {
    if (serviceAccount !== undefined)
      throw new SpokeError('ERR_BAD_OPTION', '--agent-service-account needs --agent-namespace (agent token authentication).');
    // Upstream also uses the kubeconfig for leases, which we do not implement.
    if (kubeconfig !== undefined) ignored.push('--kubeconfig');
    return undefined;
  }
  if (serviceAccount === undefined) throw new SpokeError('ERR_BAD_OPTION', '--agent-namespace needs --agent-service-account.');
  if (audience === undefined)
    throw new SpokeError('ERR_BAD_OPTION', '--agent-namespace needs --authentication-audience (for example system:konnectivity-server).');
  if (get('cluster-ca-cert') !== undefined)
    throw new SpokeError('ERR_BAD_OPTION', '--cluster-ca-cert cannot be used when agent token authentication (--agent-namespace) is on.');
  if (kubeconfig !== undefined && !existsSync(kubeconfig))
    throw new SpokeError('ERR_BAD_OPTION', `--kubeconfig=${kubeconfig} does not exist.`);
  return { namespace, serviceAccount, audience, ...(kubeconfig !== undefined ? { kubeconfig } : {}) };
}

/** Parses upstream proxy-agent flags into {@link KonnectivityAgentOptions} (certificate files are read). */
export function parseAgentFlags(argv: readonly string[]): ParsedFlags<KonnectivityAgentOptions> {
  const { values: v, ignored } = parse(argv, AGENT_FLAGS, AGENT_IGNORED);
  const options: KonnectivityAgentOptions = {};
  const o = options as Record<string, unknown>;
  const map: Array<[string, string]> = [
    ['proxy-server-host', 'proxyServerHost'],
    ['proxy-server-port', 'proxyServerPort'],
    ['ca-cert', 'caCert'],
    ['agent-cert', 'agentCert'],
    ['agent-key', 'agentKey'],
    ['agent-id', 'agentId'],
    ['agent-identifiers', 'agentIdentifiers'],
    ['service-account-token-path', 'serviceAccountTokenPath'],
    ['sync-interval', 'syncIntervalMs'],
    ['sync-interval-cap', 'syncIntervalCapMs'],
    ['sync-forever', 'syncForever'],
    ['keepalive-time', 'keepaliveTimeMs'],
    ['health-server-host', 'healthServerHost'],
    ['health-server-port', 'healthServerPort'],
    ['admin-server-port', 'adminServerPort'],
    ['admin-bind-address', 'adminBindAddress'],
  ];
  // Upstream's agent always serves health on 8093.
  options.healthServerPort ??= 8093;
  for (const [flag, key] of map) if (v.has(flag)) o[key] = v.get(flag);
  const allow = v.get('allow');
  if (typeof allow === 'string' && allow !== '')
    options.allow = allow
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return { options, ignored, log: logFlags(v) };
}
