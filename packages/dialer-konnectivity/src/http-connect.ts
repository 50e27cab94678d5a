import type { Duplex } from 'node:stream';
import { SpokeError } from '@spoke/transport-core';
import { httpConnectClient } from '@spoke/transport-core/utils';
import { dialError } from './errors.js';

/** What a Konnectivity server answers a granted CONNECT, byte for byte. */
const SUCCESS_HEAD = 'HTTP/1.1 200 Connection Established\r\n\r\n';
/** How much early destination data we accept before the success head (see below). */
const MAX_EARLY = 8 * 1024 * 1024;
/** A refusal's text is read until the server closes, up to this much. */
const MAX_BODY = 16 * 1024;

/**
 * Runs the HTTP-CONNECT handshake of a Konnectivity server in http-connect
 * mode on an open socket and resolves with the same socket, now relaying to
 * `address`. Error replies (4xx/5xx with a text body, then close) become coded
 * SpokeErrors; the socket is destroyed on failure or abort.
 */
export async function httpConnect(socket: Duplex, address: string, where: string, signal: AbortSignal): Promise<Duplex> {
  const result = await httpConnectClient(socket, {
    authority: address,
    headers: { 'User-Agent': 'spoke-konnectivity' },
    signal,
    dial: { target: address, hop: 'konnectivity' },
    protocolError: (why) =>
      new SpokeError(
        'ERR_PROTOCOL',
        `${where} did not answer CONNECT ${address} as a Konnectivity server in http-connect mode does: ${why}. Check the address and the server's mode.`,
        { target: address, hop: 'konnectivity' },
      ),
    bodyUntilClose: true,
    maxBodyBytes: MAX_BODY,
    // Upstream's proxy-server writes destination bytes from its agent loop and the
    // "200" head from the connection's goroutine, so a destination that speaks first
    // can get bytes in ahead of the head: everything around the exact head is data.
    earlyData: { head: SUCCESS_HEAD, maxBytes: MAX_EARLY },
  });
  if (result.ok && result.response.status === 200) return result.stream;
  // A 2xx other than 200 is not how a Konnectivity server grants a tunnel.
  if (result.ok) result.stream.destroy();
  const { status } = result.response;
  const body = result.ok ? '' : result.body.trim();
  if (status === 405 || status === 400) {
    throw new SpokeError('ERR_PROXY_STATUS', `${where} answered HTTP ${status} to CONNECT ${address}: ${body}.`, {
      target: address,
      hop: 'konnectivity',
    });
  }
  throw dialError(body === '' ? `HTTP ${status}` : body, address, status);
}
