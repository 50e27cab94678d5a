import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { connectTls, type Target, type TlsClientOptions } from '@spoke/transport-core';
import { mapTlsError } from './errors.js';

/** Where a TLS handshake goes, for SNI, name checks and messages. */
export interface TlsHop {
  /** The dialled target (for error messages). */
  target: Target;
  /** Host name used for SNI and the certificate check when no `servername` is set. */
  host: string;
  /** Name of the hop in error messages, e.g. `"tls"`. */
  hop: string;
  /** Whether a client certificate is configured (chooses the mTLS error text). */
  hasClientCert: boolean;
}

/**
 * Runs a verified TLS handshake over `raw` (via transport-core's `connectTls`)
 * and returns a socket that behaves like the other dialers' streams: errors,
 * during or after the handshake, are SpokeErrors (a refused client
 * certificate is `ERR_AUTH_FAILED`, a reset `ERR_STREAM_RESET`), and the
 * stream half-closes (the far side's end does not end our writing side).
 */
export async function secureStream(raw: Duplex, hop: TlsHop, options: TlsClientOptions, signal: AbortSignal): Promise<tls.TLSSocket> {
  const init = { target: hop.target, hop: hop.hop, hasClientCert: hop.hasClientCert };
  let socket: tls.TLSSocket;
  try {
    socket = await connectTls(raw, { host: hop.host, hop: hop.hop }, options, signal);
  } catch (err) {
    raw.destroy();
    throw mapTlsError(err, init);
  }
  // connectTls leaves Node's default (end our side when the peer ends); streams in spoke half-close.
  socket.allowHalfOpen = true;
  // TLS takes over a net.Socket's handle, so errors arrive raw (ECONNRESET, OpenSSL alerts after a
  // TLS 1.3 handshake such as "certificate required"). Node emits some of them directly rather than
  // through destroy(err), so translate them both where the stream is destroyed and where 'error' is emitted.
  const destroyImpl = socket._destroy.bind(socket);
  socket._destroy = (err, callback) => destroyImpl(err ? mapTlsError(err, init) : err, callback);
  const emitImpl = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = ((event: string | symbol, ...args: unknown[]) =>
    event === 'error' ? emitImpl(event, mapTlsError(args[0], init)) : emitImpl(event, ...args)) as typeof socket.emit;
  return socket;
}
