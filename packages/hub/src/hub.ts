import type { Duplex } from 'node:stream';
import type { DialOptions, Dialer, Session, Target } from '@spoke/transport-core';
import { AgentRegistry, type HubAgentInfo } from './agent-registry.js';
import { ConnectFrontEnd } from './connect-front-end.js';
import { createAgentDial, hubDialerView } from './hub-dial.js';
import { HubAuthenticator } from './hub-auth.js';
import { HubHttpServer } from './hub-http.js';
import { HubMetrics } from './hub-metrics.js';
import { checkAgentTokens, resolveHubOptions, type AgentToken, type HubOptions } from './hub-options.js';
import { HubSessions } from './hub-sessions.js';
import { ReverseListeners } from './reverse-listeners.js';

/** A running hub. */
export interface Hub {
  readonly id: string;
  /** `wss://host:port` (or `ws://` in insecure mode) for agents and clients. */
  readonly url: string;
  /** `sha256:<hex>` of the serving certificate, for agents to pin. */
  readonly fingerprint: string | undefined;
  /** The serving certificate (PEM), e.g. to hand to clients as a CA. */
  readonly certificate: string | undefined;
  /** `host:port` or `unix:/path` of the CONNECT front end, if enabled. */
  readonly connectAddress: string | undefined;
  /** Dials `target` through the best agent. */
  dial(target: Target | string, options?: DialOptions): Promise<Duplex>;
  /** The hub as an in-process Dialer. */
  dialer(): Dialer;
  /** Connected agents. */
  agents(): HubAgentInfo[];
  /**
   * Replaces the accepted bearer tokens (a role left out keeps its tokens), checked as `createHub` checks
   * them (`ERR_BAD_OPTION`, nothing changed). New connections use them; sessions already open stay up.
   */
  setTokens(tokens: { agentTokens?: readonly AgentToken[]; clientTokens?: readonly string[] }): void;
  /** Prometheus text. */
  metrics(): string;
  /** Resolves when at least `n` agents are connected. */
  waitForAgents(n: number, options?: { signal?: AbortSignal }): Promise<void>;
  /** GOAWAY to everyone, streams drain up to the grace period, listeners close. */
  close(): Promise<void>;
  /** Immediate teardown. */
  destroy(): void;
}

/**
 * Starts a hub: agents in node networks connect out to it over WSS and the
 * control plane dials node addresses through them (in-process, over
 * `spoke+wss://` client sessions, or with HTTP CONNECT).
 */
export async function createHub(options: HubOptions = {}): Promise<Hub> {
  const config = resolveHubOptions(options);
  const { log } = config;
  const registry = new AgentRegistry();
  const clients = new Set<Session>();
  const reverse = new ReverseListeners(config.reverse, log);
  const metrics = new HubMetrics({
    agents: () => registry.size,
    clients: () => clients.size,
    streams: () => registry.streams,
    reverseListeners: () => reverse.size,
  });
  const dial = createAgentDial(registry, metrics, log);
  const auth = new HubAuthenticator(config);
  const listener = new HubHttpServer(config, auth, metrics, new HubSessions(config, auth, registry, clients, metrics, dial, reverse));

  const url = await listener.listen();
  if (config.insecurePlaintext) log.warn('serving plain ws:// without TLS (--insecure-plaintext): use only for local tests', { url });
  let connect: ConnectFrontEnd | undefined;
  let connectAddress: string | undefined;
  if (config.connect) {
    try {
      ({ frontEnd: connect, address: connectAddress } = await ConnectFrontEnd.start(config.connect, {
        clientTokens: () => auth.clientTokens,
        dial,
        metrics,
        log,
        limits: config,
      }));
    } catch (err) {
      // The front end's address is taken: do not leave the main listener behind.
      listener.stopListening();
      throw err;
    }
  }
  let current = { agentTokens: config.agentTokens, clientTokens: config.clientTokens };
  log.info('hub listening', { url, fingerprint: config.fingerprint, connect: connectAddress, id: config.id });

  return {
    id: config.id,
    url,
    fingerprint: config.fingerprint,
    certificate: config.tls ? String(config.tls.cert) : undefined,
    connectAddress,
    dial: (t, o) => dial(t, o),
    dialer: () => hubDialerView(dial),
    agents: () => registry.list(),
    setTokens(tokens) {
      const agentTokens = tokens.agentTokens ?? current.agentTokens;
      checkAgentTokens(agentTokens, config.agentCa !== undefined);
      current = { agentTokens, clientTokens: tokens.clientTokens ?? current.clientTokens };
      auth.setTokens(current.agentTokens, current.clientTokens);
      log.info('tokens replaced', { agentTokens: current.agentTokens.length, clientTokens: current.clientTokens.length });
    },
    metrics: () => metrics.render(),
    waitForAgents: (n, o = {}) => registry.waitFor(n, o),
    async close() {
      reverse.closeAll();
      connect?.stopListening();
      listener.stopListening();
      await Promise.all([...registry.sessions(), ...clients].map((s) => s.close()));
      listener.dropConnections();
      connect?.dropConnections();
    },
    destroy() {
      reverse.closeAll();
      for (const s of registry.sessions()) s.destroy();
      for (const c of clients) c.destroy();
      listener.dropConnections();
      listener.stopListening();
      connect?.stopListening();
      connect?.dropConnections();
    },
  };
}
