import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { SpokeError, type Session, type SessionOptions } from '@spoke/transport-core';
import { parseAgentIdentifiers } from '@spoke/transport-core/utils';
import { ConnectedAgent, type AgentRegistry } from './agent-registry.js';
import { bearerToken, peerOf } from './auth.js';
import type { AgentCredential, HubAuthenticator } from './hub-auth.js';
import type { AgentDial } from './hub-dial.js';
import type { HubMetrics } from './hub-metrics.js';
import type { ResolvedHubOptions } from './hub-options.js';
import { mayListen, type ReverseListeners } from './reverse-listeners.js';
import { agentRoutes, type AgentRoutes } from './router.js';
import { sessionOverWebSocket } from './ws-carrier.js';

/**
 * Turns authenticated WebSockets into spoke/1 sessions: agents join the
 * registry once their hello is accepted, clients dial through the agents.
 */
export class HubSessions {
  readonly #config: ResolvedHubOptions;
  readonly #registry: AgentRegistry;
  readonly #metrics: HubMetrics;
  readonly #dial: AgentDial;
  readonly #auth: HubAuthenticator;
  /** Open client sessions (the registry holds the agents'). */
  readonly #clients: Set<Session>;
  readonly #reverse: ReverseListeners;

  constructor(
    config: ResolvedHubOptions,
    auth: HubAuthenticator,
    registry: AgentRegistry,
    clients: Set<Session>,
    metrics: HubMetrics,
    dial: AgentDial,
    reverse: ReverseListeners,
  ) {
    this.#reverse = reverse;
    this.#config = config;
    this.#auth = auth;
    this.#registry = registry;
    this.#clients = clients;
    this.#metrics = metrics;
    this.#dial = dial;
  }

  /** An agent session: its HELLO must announce an id its credential may use and that no other credential holds. */
  acceptAgent(ws: WebSocket, req: IncomingMessage, credential: AgentCredential): void {
    const { log } = this.#config;
    const remote = peerOf(req);
    let routes: AgentRoutes | undefined;
    const session = this.#open(ws, `agent ${remote}`, {
      onHello: (peer) => {
        if (peer.id === '') throw new SpokeError('ERR_PROTOCOL', 'An agent must announce an id (spoke agent --id).');
        this.#claim(peer.id, credential, remote);
        routes = agentRoutes(parseAgentIdentifiers(peer.identifiers));
      },
      onDial: () => {
        throw new SpokeError('ERR_DIAL_DENIED', 'The hub does not accept dials from agents.');
      },
    });
    session.once('open', (peer: { id: string; identifiers: string }) => {
      this.#registry.add(new ConnectedAgent(peer.id, routes as AgentRoutes, peer.identifiers, session, remote, credential.principal));
      log.info('agent connected', { agent: peer.id, identifiers: peer.identifiers, remote, credential: credential.label });
      session.once('close', (err?: SpokeError) => {
        const s = session.stats;
        this.#metrics.bytes.inc({ direction: 'in' }, s.bytesIn);
        this.#metrics.bytes.inc({ direction: 'out' }, s.bytesOut);
        log.info('agent disconnected', { agent: peer.id, remote, reason: err?.code ?? 'closed' });
      });
      session.on('goaway', () => log.info('agent draining', { agent: peer.id }));
    });
    session.once('close', (err?: SpokeError) => {
      if (err && routes === undefined) log.warn('agent handshake failed', { remote, code: err.code });
    });
  }

  // Refuses (ERR_AUTH_FAILED, logged and counted) an id the credential may not announce, or one another
  // credential holds right now: a second credential must not evict a live agent and take its traffic.
  #claim(id: string, credential: AgentCredential, remote: string): void {
    try {
      this.#auth.checkAgentId(credential, id);
      const holder = this.#registry.holder(id);
      if (holder !== undefined && holder.principal !== credential.principal) {
        throw new SpokeError(
          'ERR_AUTH_FAILED',
          `The agent id "${id}" is connected from another credential (${holder.remote}); refusing this ${credential.label} instead of replacing it.`,
        );
      }
    } catch (err) {
      this.#metrics.authFailures.inc({ role: 'agent' });
      this.#config.log.warn('refused agent id', { agent: id, credential: credential.label, remote, error: (err as Error).message });
      throw err;
    }
  }

  acceptClient(ws: WebSocket, req: IncomingMessage): void {
    const remote = peerOf(req);
    let pinnedAgent: string | undefined;
    // Decided from the credential of the upgrade request, once: which clients may open reverse listeners.
    const allowedToListen = mayListen(this.#config.reverse, bearerToken(req.headers.authorization));
    const session = this.#open(ws, `client ${remote}`, {
      onHello: (peer) => {
        const agent = peer.extensions?.['agent'];
        if (typeof agent === 'string' && agent !== '') pinnedAgent = agent;
      },
      onDial: (target, info) => this.#dial(target, { signal: info.signal }, pinnedAgent),
      onListen: (bind, info) => this.#reverse.open(info.session, bind, allowedToListen, remote),
    });
    this.#clients.add(session);
    session.once('close', () => this.#clients.delete(session));
  }

  // Every hub session: the hub responds, announces itself (HA) and applies the session limits.
  #open(ws: WebSocket, label: string, hooks: Pick<SessionOptions, 'onHello' | 'onDial' | 'onListen'>): Session {
    const { id, hubCount } = this.#config;
    return sessionOverWebSocket(
      ws,
      { ...this.#config.session, role: 'responder', id, extensions: { hubId: id, hubCount }, ...hooks },
      label,
    );
  }
}
