import { timingSafeEqual } from 'node:crypto';
import { parseAgentIdentifiers } from '@spoke/transport-core/utils';
import { GrpcCode } from '../grpc/grpc-message.js';
import { GrpcServer } from '../grpc/grpc-server.js';
import type { PacketCall } from '../packet-call.js';
import { packetCodec } from '../packet-codec.js';
import type { Packet } from '../packets.js';
import { agentCidrs, type Backend, type BackendManager } from './backends.js';
import { gateEvents, type ServerMetrics } from './metrics.js';
import type { ServerSettings } from './server-options.js';
import { createTokenReviewer, type ReviewOutcome } from './token-review.js';
import type { TunnelCore } from './tunnel-core.js';

/** What the agent side hands accepted agents to and counts them in. */
export interface AgentServiceParts {
  backends: BackendManager;
  core: TunnelCore;
  metrics: ServerMetrics;
}

/**
 * The agent-facing side of the server: `/AgentService/Connect` over TLS.
 * Each stream is authenticated (client certificate at the TLS layer, or a
 * bearer token checked against static tokens or by a TokenReview), answered
 * with serverid/servercount and registered as a backend until it ends.
 */
export class AgentService {
  readonly #settings: ServerSettings;
  readonly #parts: AgentServiceParts;
  readonly #tokens: Buffer[];
  readonly #review: ((authorization: readonly string[], signal: AbortSignal) => Promise<ReviewOutcome>) | undefined;
  /** TokenReviews in flight, aborted when the server stops. */
  readonly #reviews = new Set<AbortController>();
  readonly #server: GrpcServer<Packet>;

  constructor(settings: ServerSettings, parts: AgentServiceParts) {
    const { options } = settings;
    this.#settings = settings;
    this.#parts = parts;
    this.#tokens = (options.agentTokens ?? []).map((t) => Buffer.from(`Bearer ${t}`));
    this.#review = options.tokenReview === undefined ? undefined : createTokenReviewer(options.tokenReview);
    this.#server = new GrpcServer({
      codec: packetCodec,
      tls: {
        cert: options.clusterCert,
        key: options.clusterKey,
        ...(options.clusterCaCert !== undefined ? { ca: options.clusterCaCert } : {}),
        requestCert: options.clusterCaCert !== undefined,
      },
      routes: { '/AgentService/Connect': (call) => this.#connect(call) },
      keepaliveTimeMs: options.keepaliveTimeMs ?? 3_600_000,
      // An agent needs one stream per connection; a cap keeps one connection from opening thousands.
      maxConcurrentStreams: options.agentMaxConcurrentStreams ?? 100,
      limits: settings.agentLimits,
      gateEvents: gateEvents(parts.metrics, 'agent', settings.log),
    });
  }

  /** Listens on `--agent-port`; resolves with the bound port. */
  async listen(): Promise<number> {
    const { agentPort, agentBindAddress } = this.#settings.options;
    return (await this.#server.listen({ port: agentPort ?? 8091, host: agentBindAddress })) ?? 0;
  }

  /** Drops every agent connection and abandons pending reviews. */
  destroy(): void {
    for (const r of this.#reviews) r.abort(new Error('server stopped'));
    this.#server.destroy();
  }

  #connect(call: PacketCall): void {
    const ids = call.metadata('agentid');
    const idents = call.metadata('agentidentifiers');
    const auth = call.metadata('authorization');
    if (ids.length !== 1) return call.refuse(GrpcCode.INVALID_ARGUMENT, `expected exactly 1 agentid, got ${ids.length}`);
    if (idents.length > 1) return call.refuse(GrpcCode.INVALID_ARGUMENT, `expected at most 1 agentidentifiers, got ${idents.length}`);
    const agentId = ids[0] as string;
    if (this.#tokens.length > 0) {
      const given = auth.length === 1 ? Buffer.from(auth[0] as string) : Buffer.alloc(0);
      if (!this.#tokens.some((t) => t.length === given.length && timingSafeEqual(t, given))) {
        return this.#refuse(call, agentId, 'token not in agentTokens', false);
      }
    }
    if (this.#review === undefined) return this.#accept(call, agentId, idents[0] ?? '');
    // Upstream reviews before sending headers; the agent waits for them, so nothing arrives meanwhile.
    // A peer that sends anyway is not an agent waiting for its answer: refuse it rather than buffer what it sends.
    const stop = new AbortController();
    this.#reviews.add(stop);
    call.holdUntilAdmitted(() => {
      this.#reviews.delete(stop);
      stop.abort(new Error('agent sent data before it was authenticated'));
      this.#refuse(call, agentId, 'sent data before it was authenticated', false);
    });
    call.once('close', () => stop.abort(new Error('agent went away')));
    void this.#review(auth, stop.signal).then((outcome) => {
      this.#reviews.delete(stop);
      if (call.cancelled || stop.signal.aborted) return;
      if (outcome.ok) return this.#accept(call, agentId, idents[0] ?? '');
      this.#refuse(call, agentId, outcome.reason, outcome.unavailable);
    });
    return undefined;
  }

  /** Refuses an agent whose token did not pass; `unavailable` when the TokenReview could not be made (the agent retries). */
  #refuse(call: PacketCall, agentId: string, reason: string, unavailable: boolean): void {
    this.#parts.metrics.agentAuthFailure();
    this.#settings.log(`agent ${agentId} refused: ${reason}`);
    if (unavailable) call.refuse(GrpcCode.UNAVAILABLE, 'agent token review unavailable; retry later');
    else call.refuse(GrpcCode.UNAUTHENTICATED, 'agent token rejected');
  }

  /** Registers an authenticated agent stream as a backend and sends it serverid/servercount. */
  #accept(call: PacketCall, agentId: string, idents: string): void {
    const { backends, core, metrics } = this.#parts;
    const { log } = this.#settings;
    const identifiers = parseAgentIdentifiers(idents, { strict: false });
    const backend: Backend = { agentId, identifiers, call, draining: false, cidrs: agentCidrs(identifiers.cidr) };
    call.admit();
    call.sendHeaders({ serverid: this.#settings.serverId, servercount: String(this.#settings.serverCount) });
    backends.add(backend);
    metrics.grpc('Connect', 1);
    log(`agent ${agentId} connected`);
    let gone = false;
    const onGone = (): void => {
      if (gone) return;
      gone = true;
      backends.remove(backend);
      metrics.grpc('Connect', -1);
      core.backendGone(backend);
      log(`agent ${agentId} disconnected`);
      if (!call.writableEnded) call.end();
    };
    call.on('data', (p) => core.fromAgent(backend, p));
    call.on('end', onGone);
    call.on('close', onGone);
  }
}
