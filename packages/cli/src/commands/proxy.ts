import net from 'node:net';
import { SpokeError, isLoopbackHost, type Dialer } from '@spoke/transport-core';
import { deadlineSignal, parseCidr, rawHttpError } from '@spoke/transport-core/utils';
import { durationFlag, formatHelp, integerFlag, parseOrHelp, stringFlag, stringFlags, type OptionDefs } from '../args.js';
import { parseListenAddress, type ListenAddress } from '../addresses.js';
import { Admission } from '../admission.js';
import type { Command, CommandContext } from '../command.js';
import { summaryOf } from './index.js';
import { VIA_OPTION, viaChain } from '../dialer-chain.js';
import { EXIT_OK, UsageError, inputStep } from '../errors.js';
import { readTokenFile } from '../files.js';
import { createHttpProxyServer } from '../proxy/http-proxy.js';
import { createProxyCredentials } from '../proxy/proxy-auth.js';
import { serveSocks5 } from '../proxy/socks5.js';
import { closeWith, PROXY } from '../relay.js';
import { RELAY_OPTIONS, metricsFlag, relayDurations, runRelay } from '../relay-command.js';
import { createRoutingDialer, type Route } from '../route-dialer.js';

const OPTIONS: OptionDefs = {
  socks5: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'serve SOCKS5 (CONNECT; host names resolved on the far side) on this address',
  },
  http: {
    type: 'string',
    value: 'HOST:PORT',
    description: 'serve an HTTP proxy (CONNECT and absolute-form http:// requests) on this address',
  },
  'auth-file': {
    type: 'string',
    value: 'FILE',
    description:
      'require credentials from FILE (a line each: user:password, or a token): SOCKS5 username/password, HTTP Proxy-Authorization Basic or Bearer',
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
  ...RELAY_OPTIONS,
};

const MAX_CONNECTIONS = 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Listeners others can reach: anything but a loopback address (a wildcard address, a LAN address, a host name). */
function exposedListeners(addresses: ReadonlyArray<[string, ListenAddress | undefined]>): string[] {
  return addresses.flatMap(([flag, address]) => (address && !isLoopbackHost(address.host) ? [`--${flag} ${address.host}`] : []));
}

function parseRoutes(texts: readonly string[], context: CommandContext, usage: string): Route[] {
  return texts.map((text) => {
    const eq = text.indexOf('=');
    if (eq < 0) throw new UsageError(`--route ${JSON.stringify(text)}: write CIDR=URI, e.g. 10.0.0.0/8=ssh://ops@bastion`, usage);
    const cidr = inputStep(usage, () => parseCidr(text.slice(0, eq), '--route CIDR'));
    const uri = text.slice(eq + 1);
    const dialer = inputStep(usage, () => context.registry.create(uri, { warn: (message) => context.logger.warn(message) }));
    return { cidr, dialer };
  });
}

/** `spoke proxy [--socks5 HOST:PORT] [--http HOST:PORT] [--via URI]... [--route CIDR=URI]...`. */
export const proxyCommand: Command = {
  name: 'proxy',
  summary: summaryOf('proxy'),
  help: ({ registry }) =>
    formatHelp(
      'spoke proxy [--socks5 HOST:PORT] [--http HOST:PORT] [--via URI]... [--route CIDR=URI]...',
      'Serves SOCKS5 and/or an HTTP proxy; every connection is dialled through the --via hops (or a\n--route hop when the target IP is in its CIDR; host names always take --via and are resolved on\nthe far side). Failed dials are reported with the matching SOCKS5 reply code, or an HTTP\n403/502/503/504 whose X-Spoke-Error-Code header and body carry the spoke error code.\nWith --auth-file, clients must log in (SOCKS5 username/password; HTTP Proxy-Authorization,\nelse 407); without it, a listener on a non-loopback address is open to anyone and says so.\nPrints one line with the addresses it listens on.',
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
    const { values, usage } = parsed;
    const socksText = stringFlag(values, 'socks5');
    const httpText = stringFlag(values, 'http');
    if (socksText === undefined && httpText === undefined) throw new UsageError('give --socks5 HOST:PORT and/or --http HOST:PORT', usage);
    const socksAddress = socksText === undefined ? undefined : parseListenAddress(socksText, 'socks5', usage);
    const httpAddress = httpText === undefined ? undefined : parseListenAddress(httpText, 'http', usage);
    const durations = relayDurations(values, usage);
    const maxConnections = integerFlag(values, 'max-connections', MAX_CONNECTIONS, usage);
    const handshakeMs = durationFlag(values, 'handshake-timeout', HANDSHAKE_TIMEOUT_MS, usage);
    const authFile = stringFlag(values, 'auth-file');
    const auth = authFile === undefined ? undefined : createProxyCredentials(readTokenFile(authFile, 'auth-file', usage));
    const exposed = exposedListeners([
      ['socks5', socksAddress],
      ['http', httpAddress],
    ]);
    if (!auth && exposed.length > 0)
      context.logger.warn(
        `listening beyond loopback (${exposed.join(', ')}) without --auth-file: this proxy is open to anyone who can reach it`,
      );
    const fallback = viaChain(stringFlags(values, 'via'), context, usage);
    const dialer: Dialer = createRoutingDialer(parseRoutes(stringFlags(values, 'route'), context, usage), fallback);
    const tooMany = new SpokeError(
      'ERR_TOO_MANY_STREAMS',
      `spoke proxy holds ${maxConnections} connections already (--max-connections); retry later.`,
    );
    return runRelay(
      {
        name: 'proxy',
        dialer,
        durations,
        metrics: metricsFlag(values, usage),
        async open({ relay, listen, onStop }) {
          const admission = new Admission(maxConnections);
          const httpProxy = createHttpProxyServer(relay, { handshakeTimeoutMs: handshakeMs, ...(auth ? { auth } : {}) });
          onStop(() => httpProxy.close());
          const admit = (socket: net.Socket, protocol: string): boolean => {
            socket.on('error', () => {});
            if (!admission.admit(socket)) {
              context.logger.warn('connection refused: too many connections', { protocol, max: maxConnections });
              if (protocol === 'http') closeWith(socket, rawHttpError(tooMany, PROXY));
              else socket.destroy();
              return false;
            }
            relay.stats.accepted();
            relay.tracker.add(socket);
            socket.setNoDelay(true);
            return true;
          };
          const lines: string[] = [];
          const hints: string[] = [];
          if (socksAddress) {
            const server = net.createServer({ allowHalfOpen: true }, (socket) => {
              if (!admit(socket, 'socks5')) return;
              const handshake = deadlineSignal(handshakeMs, context.shutdown);
              void serveSocks5(socket, relay, handshake.signal, auth).finally(() => handshake.clear());
            });
            const bound = await listen(server, socksAddress);
            lines.push(`socks5 ${bound}`);
            hints.push(`curl --socks5-hostname ${bound} URL`);
          }
          if (httpAddress) {
            // A plain listener in front of the HTTP server, so over-limit clients are turned away before any parsing.
            const server = net.createServer({ allowHalfOpen: true }, (socket) => {
              if (admit(socket, 'http')) httpProxy.accept(socket);
            });
            const bound = await listen(server, httpAddress);
            lines.push(`http ${bound}`);
            hints.push(`curl -x http://${bound} URL`);
          }
          context.logger.info('proxy ready', { listen: lines.join(', '), via: dialer.kind, maxConnections });
          return { lines, hints };
        },
      },
      context,
    );
  },
};
