import { chmod } from 'node:fs/promises';
import type { KonnectivityFrontEnd } from '@spoke/dialer-konnectivity';
import type { Hub, HubOptions } from '@spoke/hub';
import type { Logger } from '@spoke/transport-core';
import { claimSocketPath } from '@spoke/transport-core/utils';
import { parseListenAddress } from './addresses.js';
import { stringFlag, type OptionDefs, type ParsedValues } from './args.js';
import { UsageError, asUsageError } from './errors.js';
import { readFlagFile, readKeyPairFlags } from './files.js';

/**
 * `spoke hub`'s listeners for kube-apiserver's egress selector, which never
 * sends a bearer token: CONNECT on a unix socket (file permissions), CONNECT
 * over TLS with client certificates, and the Konnectivity gRPC front end on a
 * unix socket. The last two are @spoke/dialer-konnectivity's front ends with
 * the hub's dialer (its agent routing) behind them.
 */
export const HUB_EGRESS_OPTIONS: OptionDefs = {
  connect: {
    type: 'string',
    value: 'HOST:PORT|unix:/PATH',
    description:
      'also serve HTTP CONNECT for clients here: a unix socket (its file permissions guard it; kube-apiserver HTTPConnect over UDS), a TCP address with --connect-client-ca (TLS, client certificates required; HTTPConnect over TCP), or a loopback address in plain HTTP (Proxy-Authorization: Bearer TOKEN)',
  },
  'connect-socket-mode': {
    type: 'string',
    value: 'MODE',
    description: 'octal mode of the --connect unix socket (default 0600: only the hub user may connect)',
  },
  'connect-client-ca': {
    type: 'string',
    value: 'FILE',
    description:
      "PEM CA bundle for --connect HOST:PORT over TLS: clients must present a certificate it signed (kube-apiserver's tlsConfig.clientCert)",
  },
  'connect-tls-cert': {
    type: 'string',
    value: 'FILE',
    description: 'PEM serving certificate of --connect over TLS (default: --tls-cert)',
  },
  'connect-tls-key': { type: 'string', value: 'FILE', description: 'PEM key of --connect-tls-cert (default: --tls-key)' },
  'konnectivity-uds': {
    type: 'string',
    value: 'PATH',
    description:
      "serve the Konnectivity gRPC front end (/ProxyService/Proxy) on this unix socket: kube-apiserver's proxyProtocol GRPC reaches the hub's agents",
  },
  'konnectivity-socket-mode': {
    type: 'string',
    value: 'MODE',
    description: 'octal mode of the --konnectivity-uds socket (default 0600)',
  },
};

/** Connection caps of the hub, applied to the TLS CONNECT listener as to its others. */
export interface HubLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  handshakeTimeoutMs: number;
}

/** The egress listeners `spoke hub` was asked for, checked; started next to the hub. */
export interface HubEgress {
  /** What createHub serves itself: plain CONNECT (unix socket or loopback with tokens). */
  readonly hubOptions: Pick<HubOptions, 'connect'>;
  /** Frees the unix socket paths (a stale socket is replaced; a live one or another file is ERR_BAD_OPTION). */
  prepare(): Promise<void>;
  /** Sets the CONNECT socket's mode and starts the Konnectivity front ends in front of `hub`; resolves to announce parts. */
  start(hub: Hub, log: Logger): Promise<Record<string, string>>;
  close(): Promise<void>;
  destroy(): void;
}

function socketMode(values: ParsedValues, flag: string, usage: string): number {
  const text = stringFlag(values, flag) ?? '0600';
  if (!/^0?[0-7]{3}$/.test(text)) throw new UsageError(`--${flag} ${JSON.stringify(text)}: give an octal mode such as 0600 or 0660`, usage);
  return parseInt(text, 8);
}

/** Checks the egress flags (`hubTls`: the hub's own --tls-cert/--tls-key, the default pair of --connect over TLS). */
export function planHubEgress(
  values: ParsedValues,
  usage: string,
  hubTls: { cert: Buffer; key: Buffer } | undefined,
  limits: HubLimits,
): HubEgress {
  const connectText = stringFlag(values, 'connect');
  const clientCaFile = stringFlag(values, 'connect-client-ca');
  const connectPair = readKeyPairFlags(values, 'connect-tls-cert', 'connect-tls-key', usage);
  const konnectivityUds = stringFlag(values, 'konnectivity-uds');
  if (konnectivityUds === '') throw new UsageError('--konnectivity-uds needs a socket path', usage);
  const konnectivityMode = socketMode(values, 'konnectivity-socket-mode', usage);
  if (stringFlag(values, 'konnectivity-socket-mode') !== undefined && konnectivityUds === undefined)
    throw new UsageError('--konnectivity-socket-mode goes with --konnectivity-uds', usage);
  let connectPath: string | undefined;
  let connectMode = 0o600;
  let hubConnect: HubOptions['connect'];
  let tlsConnect: { host: string; port: number; tls: { cert: Buffer; key: Buffer; ca: Buffer } } | undefined;
  if (connectText?.startsWith('unix:')) {
    connectPath = connectText.slice('unix:'.length);
    if (connectPath === '') throw new UsageError('--connect unix: needs a socket path, e.g. unix:/run/spoke/connect.sock', usage);
    if (clientCaFile !== undefined || connectPair)
      throw new UsageError(
        '--connect unix: is guarded by its file permissions: --connect-client-ca and --connect-tls-* apply to --connect HOST:PORT',
        usage,
      );
    connectMode = socketMode(values, 'connect-socket-mode', usage);
    hubConnect = { path: connectPath };
  } else {
    if (stringFlag(values, 'connect-socket-mode') !== undefined)
      throw new UsageError('--connect-socket-mode goes with --connect unix:/PATH', usage);
    const address = connectText !== undefined ? parseListenAddress(connectText, 'connect', usage) : undefined;
    if (clientCaFile !== undefined) {
      if (!address) throw new UsageError('--connect-client-ca needs --connect HOST:PORT', usage);
      const pair = connectPair ?? hubTls;
      if (!pair)
        throw new UsageError(
          '--connect over TLS needs a certificate: --connect-tls-cert and --connect-tls-key (or --tls-cert and --tls-key)',
          usage,
        );
      tlsConnect = { ...address, tls: { ...pair, ca: readFlagFile(clientCaFile, 'connect-client-ca', usage) } };
    } else if (connectPair) {
      throw new UsageError(
        '--connect-tls-cert needs --connect-client-ca: TLS on --connect requires client certificates (without them, --connect is plain HTTP with bearer tokens)',
        usage,
      );
    } else hubConnect = address;
  }
  const started: KonnectivityFrontEnd[] = [];
  return {
    hubOptions: hubConnect !== undefined ? { connect: hubConnect } : {},
    async prepare() {
      if (connectPath === undefined) return;
      try {
        await claimSocketPath(connectPath, 'The CONNECT front end (--connect)');
      } catch (err) {
        throw asUsageError(err, usage);
      }
    },
    async start(hub, log) {
      const parts: Record<string, string> = {};
      // The hub created the socket a moment ago and has not announced it yet.
      if (connectPath !== undefined) await chmod(connectPath, connectMode);
      const frontEndLog = log.child({ component: 'hub-egress' });
      const common = { dialer: hub.dialer(), log: (message: string) => frontEndLog.debug(message) };
      try {
        // Imported only when a front end is asked for: a hub without them does not load the gRPC stack.
        const frontEnd =
          tlsConnect || konnectivityUds !== undefined ? (await import('@spoke/dialer-konnectivity')).createKonnectivityFrontEnd : undefined;
        if (tlsConnect && frontEnd) {
          const f = await frontEnd({
            ...common,
            mode: 'http-connect',
            tcp: tlsConnect,
            maxConnections: limits.maxConnections,
            maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
            preAuthTimeoutMs: limits.handshakeTimeoutMs,
          });
          started.push(f);
          // The URL kube-apiserver's EgressSelectorConfiguration takes (transport.tcp.url).
          parts.connect = `https://${tlsConnect.host.includes(':') ? `[${tlsConnect.host}]` : tlsConnect.host}:${f.port}`;
        }
        if (konnectivityUds !== undefined && frontEnd) {
          started.push(await frontEnd({ ...common, mode: 'grpc', uds: konnectivityUds, socketMode: konnectivityMode }));
          parts.konnectivity = `unix:${konnectivityUds}`;
        }
      } catch (err) {
        for (const f of started) f.destroy();
        throw asUsageError(err, usage);
      }
      return parts;
    },
    async close() {
      await Promise.all(started.map((f) => f.close()));
    },
    destroy() {
      for (const f of started) f.destroy();
    },
  };
}
