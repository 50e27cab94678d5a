import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SpokeError, badUri, readUriFile, type Dialer, type DialerScheme } from '@spoke/transport-core';
import { type EgressConnection } from '@spoke/transport-core/egress';
import { createKonnectivityDialer, type KonnectivityTlsOptions } from './konnectivity-dialer.js';

const USAGE = [
  'konnectivity+grpc+unix:///path.sock                  Konnectivity gRPC mode over a unix socket (as kube-apiserver)',
  'konnectivity+grpc://host:8090?ca=F&cert=F&key=F      Konnectivity gRPC mode over mTLS TCP',
  'konnectivity+connect+unix:///path.sock               Konnectivity HTTP-CONNECT mode over a unix socket',
  'konnectivity+connect://host:8090?ca=F&cert=F&key=F   Konnectivity HTTP-CONNECT mode over mTLS TCP',
].join('\n');

/**
 * Dialer URI scheme handler for Konnectivity servers; register it in a
 * transport-core dialer registry. `servername=N` overrides the name checked
 * in the server certificate. In HTTP-CONNECT mode the previous `--via` hop
 * carries the connection to the server.
 */
export const konnectivityScheme: DialerScheme = {
  schemes: ['konnectivity+grpc', 'konnectivity+grpc+unix', 'konnectivity+connect', 'konnectivity+connect+unix'],
  usage: USAGE,
  create(uri, context) {
    const scheme = uri.protocol.slice(0, -1);
    const mode = scheme.startsWith('konnectivity+grpc') ? 'grpc' : 'http-connect';
    const via = context.via;
    if (via && mode === 'grpc') throw badUri(uri.href, 'gRPC mode cannot run through a --via hop; use konnectivity+connect', USAGE);
    if (scheme.endsWith('+unix')) {
      if (uri.host !== '' || uri.pathname === '' || uri.pathname === '/')
        throw badUri(uri.href, 'give the socket path as konnectivity+…+unix:///absolute/path.sock', USAGE);
      return createKonnectivityDialer({ mode, uds: decodeURIComponent(uri.pathname), ...(via ? { via } : {}) });
    }
    if (uri.hostname === '') throw badUri(uri.href, 'a host is required', USAGE);
    const tls: KonnectivityTlsOptions = {};
    const ca = readUriFile(uri, 'ca');
    const cert = readUriFile(uri, 'cert');
    const key = readUriFile(uri, 'key');
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    const servername = uri.searchParams.get('servername');
    if (servername) tls.servername = servername;
    if ((cert === undefined) !== (key === undefined)) throw badUri(uri.href, 'cert= and key= go together', USAGE);
    return createKonnectivityDialer({ mode, url: `${uri.hostname}:${uri.port || '8090'}`, tls, ...(via ? { via } : {}) });
  },
};

/**
 * Builds the Dialer for a kube-apiserver egress selection whose proxy
 * protocol is `GRPC` or `HTTPConnect`, with kube-apiserver's meaning of every
 * field (TLS file paths are read now, `tlsServerName` is the name checked in
 * the server certificate). Unlike kube-apiserver, GRPC over TCP (mTLS) is
 * accepted too.
 */
export function konnectivityEgressBackend(connection: EgressConnection): Dialer {
  const mode = connection.proxyProtocol === 'GRPC' ? 'grpc' : connection.proxyProtocol === 'HTTPConnect' ? 'http-connect' : undefined;
  if (mode === undefined) {
    throw new SpokeError(
      'ERR_BAD_CONFIG',
      `proxyProtocol ${JSON.stringify(connection.proxyProtocol)} is not a Konnectivity protocol; use GRPC or HTTPConnect (Direct needs no proxy).`,
    );
  }
  const t = connection.transport ?? {};
  if ((t.uds === undefined) === (t.tcp === undefined)) {
    throw new SpokeError(
      'ERR_BAD_CONFIG',
      `An egress connection with proxyProtocol ${connection.proxyProtocol} needs exactly one of transport.uds or transport.tcp.`,
    );
  }
  if (t.uds) {
    if (!t.uds.udsName)
      throw new SpokeError('ERR_BAD_CONFIG', 'transport.uds.udsName is empty; set it to the Konnectivity server socket path.');
    return createKonnectivityDialer({ mode, uds: t.uds.udsName });
  }
  const tcp = t.tcp as NonNullable<typeof t.tcp>;
  let url: URL;
  try {
    url = new URL(tcp.url);
  } catch {
    throw new SpokeError('ERR_BAD_CONFIG', `transport.tcp.url ${JSON.stringify(tcp.url)} is not a URL; use https://host:port.`);
  }
  const read = (what: string, path: string | undefined): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(resolve(path));
    } catch (err) {
      throw new SpokeError('ERR_BAD_CONFIG', `Cannot read transport.tcp.tlsConfig.${what} (${path}): ${(err as Error).message}.`, {
        cause: err,
      });
    }
  };
  const tlsFiles = tcp.tlsConfig ?? {};
  const tls: KonnectivityTlsOptions = {};
  const ca = read('caBundle', tlsFiles.caBundle);
  const cert = read('clientCert', tlsFiles.clientCert);
  const key = read('clientKey', tlsFiles.clientKey);
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (tlsFiles.tlsServerName) tls.servername = tlsFiles.tlsServerName;
  return createKonnectivityDialer({ mode, url: `${url.hostname}:${url.port || '443'}`, tls });
}
