import net from 'node:net';
import { SpokeError, deadlineSignal, rawHttpError, type Dialer } from '@spoke/transport-core';
import { formatHelp, integerFlag, parseOrHelp, stringFlag, stringFlags, type OptionDefs } from '../args.js';
import { formatListen, parseListenAddress } from '../addresses.js';
import { Admission } from '../admission.js';
import type { Command, CommandContext } from '../command.js';
import { ConnectionTracker } from '../connection-tracker.js';
import { VIA_OPTION, viaChain } from '../dialer-chain.js';
import { parseDuration } from '../duration.js';
import { EXIT_OK, UsageError, inputStep } from '../errors.js';
import { listen } from '../listen.js';
import { startMetricsServer } from '../metrics-server.js';
import { createHttpProxyServer } from '../proxy/http-proxy.js';
import { serveSocks5 } from '../proxy/socks5.js';
import { closeWith, PROXY, type RelayContext } from '../relay.js';
import { createRoutingDialer, parseCidr, type Route } from '../route-dialer.js';
import { serveUntilShutdown } from '../serve.js';
import { TransferStats, startStatusLine } from '../transfer-stats.js';
import { metricsFlag, relayDurations } from './forward.js';

const OPTIONS: OptionDefs = {
  socks5: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'serve SOCKS5 (no auth, CONNECT; host names resolved on the far side) on this address',
  },
  http: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'serve an HTTP proxy (CONNECT and absolute-form http:// requests) on this address',
  },
  via: VIA_OPTION,
  route: {
    type: 'string',
    multiple: true,
    value: 'CIDR=URI',
    description: 'send targets whose IP is in CIDR through URI instead (most specific wins)',
  },
  'max-connections': { type: 'string', value: 'N', description: 'client connections held at once, both listeners together (default 1024)' },
  'handshake-timeout': {
    type: 'string',
    value: 'DURATION',
    description: 'time a client has to send its SOCKS5 request or HTTP head (default 10s)',
  },
  'connect-timeout': { type: 'string', value: 'DURATION', description: 'bound on each dial (default 30s)' },
  grace: { type: 'string', value: 'DURATION', description: 'on SIGINT/SIGTERM, how long open connections may finish (default 10s)' },
  metrics: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'serve Prometheus /metrics (connections, dial failures by code, bytes), /healthz, /readyz',
  },
};

const MAX_CONNECTIONS = 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;

function parseRoutes(texts: readonly string[], context: CommandContext, usage: string): Route[] {
  return texts.map((text) => {
    const eq = text.indexOf('=');
    if (eq < 0) throw new UsageError(`--route ${JSON.stringify(text)}: write CIDR=URI, e.g. 10.0.0.0/8=ssh://ops@bastion`, usage);
    const cidr = text.slice(0, eq);
    const uri = text.slice(eq + 1);
    const { prefix, family } = inputStep(usage, () => parseCidr(cidr));
    const dialer = inputStep(usage, () => context.registry.create(uri, { warn: (message) => context.logger.warn(message) }));
    return { cidr, prefix, family, dialer };
  });
}

/** `spoke proxy [--socks5 HOST:PORT] [--http HOST:PORT] [--via URI]... [--route CIDR=URI]...`. */
export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'SOCKS5 and HTTP proxy whose connections go through the --via hops',
  help: ({ registry }) =>
    formatHelp(
      'spoke proxy [--socks5 HOST:PORT] [--http HOST:PORT] [--via URI]... [--route CIDR=URI]...',
      'Serves SOCKS5 and/or an HTTP proxy; every connection is dialled through the --via hops (or a\n--route hop when the target IP is in its CIDR; host names always take --via and are resolved on\nthe far side). Failed dials are reported with the matching SOCKS5 reply code, or an HTTP\n403/502/503/504 whose X-Spoke-Error-Code header and body carry the spoke error code.\nPrints one line with the addresses it listens on.',
      OPTIONS,
      [
        [
          'Examples',
          'spoke proxy --socks5 127.0.0.1:1080 --via ssh://ops@bastion?known-hosts=known_hosts\ncurl --socks5-hostname 127.0.0.1:1080 http://10.0.0.5:8080/\nspoke proxy --http 127.0.0.1:3128 --route 10.1.0.0/16=ssh://ops@dc1-bastion --route 10.2.0.0/16=ssh://ops@dc2-bastion\ncurl -x http://127.0.0.1:3128 http://10.2.3.4/healthz',
        ],
        ['Dialer URIs', registry.usage()],
      ],
    ),
  async run(argv, context) {
    const parsed = parseOrHelp(argv, proxyCommand, context, OPTIONS, { max: 0 });
    if (!parsed) return EXIT_OK;
    const usage = proxyCommand.help(context);
    const { values } = parsed;
    const socksText = stringFlag(values, 'socks5');
    const httpText = stringFlag(values, 'http');
    if (socksText === undefined && httpText === undefined) throw new UsageError('give --socks5 HOST:PORT and/or --http HOST:PORT', usage);
    const socksAddress = socksText === undefined ? undefined : parseListenAddress(socksText, 'socks5', usage);
    const httpAddress = httpText === undefined ? undefined : parseListenAddress(httpText, 'http', usage);
    const durations = relayDurations(values, usage);
    const maxConnections = integerFlag(values, 'max-connections', MAX_CONNECTIONS, usage);
    const handshakeText = stringFlag(values, 'handshake-timeout');
    const handshakeMs = handshakeText === undefined ? HANDSHAKE_TIMEOUT_MS : parseDuration(handshakeText, 'handshake-timeout', usage);
    const fallback = viaChain(stringFlags(values, 'via'), context, usage);
    const dialer: Dialer = createRoutingDialer(parseRoutes(stringFlags(values, 'route'), context, usage), fallback);

    const stats = new TransferStats();
    const tracker = new ConnectionTracker();
    const admission = new Admission(maxConnections);
    const relay: RelayContext = {
      dialer,
      logger: context.logger,
      stats,
      tracker,
      dialTimeoutMs: durations.dialTimeoutMs,
      signal: context.shutdown,
    };
    const httpProxy = createHttpProxyServer(relay, { handshakeTimeoutMs: handshakeMs });
    const tooMany = new SpokeError(
      'ERR_TOO_MANY_STREAMS',
      `spoke proxy holds ${maxConnections} connections already (--max-connections); retry later.`,
    );
    const admit = (socket: net.Socket, protocol: string): boolean => {
      socket.on('error', () => {});
      if (!admission.admit(socket)) {
        context.logger.warn('connection refused: too many connections', { protocol, max: maxConnections });
        if (protocol === 'http') closeWith(socket, rawHttpError(tooMany, PROXY));
        else socket.destroy();
        return false;
      }
      stats.accepted();
      tracker.add(socket);
      socket.setNoDelay(true);
      return true;
    };
    const servers: net.Server[] = [];
    try {
      const lines: string[] = [];
      const hints: string[] = [];
      if (socksAddress) {
        const server = net.createServer({ allowHalfOpen: true }, (socket) => {
          if (!admit(socket, 'socks5')) return;
          const handshake = deadlineSignal(handshakeMs, context.shutdown);
          void serveSocks5(socket, relay, handshake.signal).finally(handshake.clear);
        });
        servers.push(server);
        const bound = formatListen(await listen(server, socksAddress));
        lines.push(`socks5 ${bound}`);
        hints.push(`curl --socks5-hostname ${bound} URL`);
      }
      if (httpAddress) {
        // A plain listener in front of the HTTP server, so over-limit clients are turned away before any parsing.
        const server = net.createServer({ allowHalfOpen: true }, (socket) => {
          if (admit(socket, 'http')) httpProxy.server.emit('connection', socket);
        });
        servers.push(server);
        const bound = formatListen(await listen(server, httpAddress));
        lines.push(`http ${bound}`);
        hints.push(`curl -x http://${bound} URL`);
      }
      const metricsAddress = metricsFlag(values, usage);
      if (metricsAddress) {
        const started = await startMetricsServer(metricsAddress, () => stats.metrics.render());
        servers.push(started.server);
        lines.push(`metrics ${started.url}`);
      }
      context.io.stdout.write(`spoke proxy listening: ${lines.join(', ')} (e.g. ${hints.join(' or ')})\n`);
      context.logger.info('proxy ready', { listen: lines.join(', '), via: dialer.kind, maxConnections });
      const stopStatus = startStatusLine(stats, context.io);
      await serveUntilShutdown(servers, tracker, durations.graceMs, context, () => httpProxy.close());
      stopStatus();
      context.logger.info('stopped', { total: stats.total, failed: stats.failed, up: stats.up, down: stats.down });
      return EXIT_OK;
    } finally {
      for (const server of servers) server.close();
      httpProxy.close();
      await dialer.close().catch(() => {});
    }
  },
};
