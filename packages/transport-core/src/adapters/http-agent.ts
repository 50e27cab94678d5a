import http from 'node:http';
import https from 'node:https';
import type { Dialer } from '../dialer.js';
import { asyncCreateConnection } from './dial-for-http.js';

/**
 * An `http.Agent` whose connections come from `dialer`. Keep-alive pooling,
 * `maxSockets` etc. work as usual. Use it with `http.get(url, { agent })`.
 */
export function createHttpAgent(dialer: Dialer, options?: http.AgentOptions): http.Agent {
  const agent = new http.Agent(options);
  agent.createConnection = asyncCreateConnection(dialer, () => false);
  return agent;
}

/**
 * An `https.Agent` whose TCP connections come from `dialer`; TLS runs on top
 * with the request's options (`ca`, `servername`, client certs...), verified.
 */
export function createHttpsAgent(dialer: Dialer, options?: https.AgentOptions): https.Agent {
  const agent = new https.Agent(options);
  agent.createConnection = asyncCreateConnection(dialer, () => true);
  return agent;
}
