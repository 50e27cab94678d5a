import { SpokeError, createNetDialer, type Dialer } from '@spoke/transport-core';
import {
  EGRESS_SELECTION_NAMES,
  type EgressSelection,
  type EgressSelectionName,
  type EgressSelectorConfiguration,
} from '@spoke/transport-core/egress';
import { createHttpConnectDialer } from '../http-connect-dialer.js';

/**
 * Builders for each proxy protocol. Each gets the selection (with absolute
 * file paths) and returns the Dialer for it. Defaults: `direct` → a net
 * dialer, `httpConnect` → {@link defaultHttpConnectDialer}; `grpc` has no
 * default here (it lives in `@spoke/dialer-konnectivity`).
 */
export interface EgressBackends {
  /** For `Direct` selections and names the file does not mention. Pass a TLS dialer factory to get TLS to the targets. */
  direct?: () => Dialer;
  /** For `HTTPConnect` selections. */
  httpConnect?: (selection: EgressSelection) => Dialer;
  /** For `GRPC` selections: the Konnectivity client dialer. */
  grpc?: (selection: EgressSelection) => Dialer;
}

/** What {@link createEgressSelector} returns. */
export interface EgressSelector {
  /** The configuration in force (undefined when no file was given: everything is direct). */
  readonly config: EgressSelectorConfiguration | undefined;
  /**
   * The dialer for a traffic class (`master` is accepted for `controlplane`).
   * A class the file does not configure is dialled directly, as kube-apiserver
   * does. Throws `ERR_BAD_CONFIG` for a GRPC selection without a `grpc` backend.
   */
  dialerFor(name: EgressSelectionName | 'master'): Dialer;
  /** Closes every dialer handed out. */
  close(): Promise<void>;
}

/**
 * Turns a loaded `EgressSelectorConfiguration` into one Dialer per traffic
 * class, like kube-apiserver's `NewEgressSelector` + `Lookup`. Dialers are
 * built on first use and cached.
 */
export function createEgressSelector(config: EgressSelectorConfiguration | undefined, backends: EgressBackends = {}): EgressSelector {
  const built = new Map<string, Dialer>();
  return {
    config,
    dialerFor(requested) {
      const name = requested === 'master' ? 'controlplane' : requested;
      if (!(EGRESS_SELECTION_NAMES as readonly string[]).includes(name)) {
        throw new SpokeError(
          'ERR_BAD_OPTION',
          `Unknown egress selection ${JSON.stringify(requested)}; use one of ${EGRESS_SELECTION_NAMES.join(', ')}.`,
        );
      }
      const existing = built.get(name);
      if (existing) return existing;
      const index = config?.egressSelections.findIndex((s) => s.name === name) ?? -1;
      const selection = index >= 0 ? config?.egressSelections[index] : undefined;
      const dialer = selection === undefined ? direct() : build(selection, index);
      built.set(name, dialer);
      return dialer;
    },
    async close() {
      const all = [...built.values()];
      built.clear();
      await Promise.all(all.map((d) => d.close()));
    },
  };

  function direct(): Dialer {
    return backends.direct ? backends.direct() : createNetDialer();
  }

  function build(selection: EgressSelection, index: number): Dialer {
    switch (selection.connection.proxyProtocol) {
      case 'Direct':
        return direct();
      case 'HTTPConnect':
        return backends.httpConnect ? backends.httpConnect(selection) : defaultHttpConnectDialer(selection, index);
      case 'GRPC':
        if (!backends.grpc) {
          throw new SpokeError(
            'ERR_BAD_CONFIG',
            `egressSelections[${index}] (${selection.name}) uses proxyProtocol GRPC, which needs the Konnectivity client: install @spoke/dialer-konnectivity and pass its dialer factory as backends.grpc (the spoke CLI registers it when the package is installed).`,
          );
        }
        return backends.grpc(selection);
    }
  }
}

/**
 * The HTTPConnect dialer kube-apiserver would use for `selection`: CONNECT
 * through the proxy on `transport.uds.udsName`, or on `transport.tcp.url` with
 * TLS (CA bundle, client certificate, `tlsServerName`; files re-read on
 * rotation). Unlike kube-apiserver, an `http://` URL gets plain TCP (upstream
 * passes validation but then always dials TLS), and bytes the proxy sends
 * right after its answer are kept (upstream fails the dial).
 *
 * @param index the selection's position in the file, for error messages.
 */
export function defaultHttpConnectDialer(selection: EgressSelection, index = 0): Dialer {
  const transport = selection.connection.transport;
  if (transport?.uds) return createHttpConnectDialer({ proxy: { path: transport.uds.udsName } });
  const tcp = transport?.tcp;
  const at = `egressSelections[${index}].connection.transport.tcp.url`;
  if (!tcp)
    throw new SpokeError('ERR_BAD_CONFIG', `egressSelections[${index}].connection.transport: HTTPConnect needs a tcp or uds transport.`);
  let url: URL;
  try {
    url = new URL(tcp.url);
  } catch {
    throw new SpokeError('ERR_BAD_CONFIG', `${at}: ${JSON.stringify(tcp.url)} is not a URL; use https://host:port.`);
  }
  if (url.port === '')
    throw new SpokeError(
      'ERR_BAD_CONFIG',
      `${at}: ${JSON.stringify(tcp.url)} has no port; write it as https://${url.hostname}:PORT (kube-apiserver dials host:port as written).`,
    );
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const proxy = { host, port: Number(url.port) };
  const tls = tcp.tlsConfig;
  if (url.protocol === 'http:' || !tls) return createHttpConnectDialer({ proxy });
  return createHttpConnectDialer({
    proxy,
    tls: {
      ...(tls.caBundle ? { caFile: tls.caBundle } : {}),
      ...(tls.clientCert ? { certFile: tls.clientCert } : {}),
      ...(tls.clientKey ? { keyFile: tls.clientKey } : {}),
      ...(tls.tlsServerName ? { servername: tls.tlsServerName } : {}),
    },
  });
}
