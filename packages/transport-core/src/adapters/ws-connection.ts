import type { Dialer } from '../dialer.js';
import { asyncCreateConnection, type HttpConnectRequest } from './dial-for-http.js';

/**
 * A `createConnection` option for `ws` clients: `new WebSocket(url, { createConnection: createWsConnection(dialer) })`.
 * `wss:` URLs get a verified TLS handshake with the client's TLS options.
 */
export function createWsConnection(dialer: Dialer): ReturnType<typeof asyncCreateConnection> {
  return asyncCreateConnection(dialer, (options) => {
    const req = options as HttpConnectRequest & { _defaultAgent?: { protocol?: string }; defaultPort?: number };
    // ws hands its options to https.request for wss:, which marks them with https' default agent.
    return req._defaultAgent?.protocol === 'https:' || (req._defaultAgent === undefined && req.defaultPort === 443);
  });
}
