import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { SpokeError } from '@spoke/transport-core';
import { bearerToken, tokenIndex } from './auth.js';
import type { AgentToken, ResolvedHubOptions } from './hub-options.js';

/** The two kinds of peers a hub authenticates, each on its own path with its own credentials. */
export type HubRole = 'agent' | 'client';

/** What an agent authenticated with, as far as ids are concerned (never the secret itself). */
export interface AgentCredential {
  /** For logs: `certificate CN=node-1`, `token bound to node-1`, `token #2 (any id)`. */
  readonly label: string;
  /** The only agent id this credential may announce; undefined: any id not reserved by a bound token. */
  readonly boundId: string | undefined;
  /**
   * Sessions of one agent id from the same principal replace each other; one from another principal is
   * refused. Every credential bound to an id (certificate or bound token) is the principal `id:<id>`.
   */
  readonly principal: string;
}

/** The verdict on an upgrade request: who it is, or why not (a reason fit for logs). */
export type AuthVerdict = { ok: true; credential: AgentCredential | undefined } | { ok: false; reason: string };

/** The DER bytes of every certificate of a PEM bundle (how a verified chain's anchor is matched to a role). */
export function bundleCertificates(pem: string | Buffer): Buffer[] {
  const blocks = String(pem).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b).raw);
}

/** The certificates a verified peer chain went through above its leaf, ending with the trust anchor. */
function issuersOf(leaf: DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  // The anchor is its own issuer: stop at the first certificate seen twice.
  for (let cert: DetailedPeerCertificate | undefined = leaf.issuerCertificate; cert?.raw !== undefined; cert = cert.issuerCertificate) {
    const raw = cert.raw;
    if (out.some((r) => r.equals(raw))) break;
    out.push(raw);
  }
  return out;
}

/**
 * Authenticates the hub's upgrade requests by role. A certificate counts only for the role whose CA
 * (agentCa or clientCa) it chains to and is refused on the other path; an agent certificate binds
 * the agent id to its subject CN. A token counts only in its role's list; agent tokens may be bound
 * to an id. Tokens are compared in constant time and never appear in a reason.
 */
export class HubAuthenticator {
  readonly #agentCas: Buffer[];
  readonly #clientCas: Buffer[];
  #agentTokens: ReadonlyArray<{ token: string; id: string | undefined }> = [];
  #clientTokens: readonly string[] = [];
  /** Ids some agent token is bound to: no other credential may announce them. */
  #reserved: ReadonlySet<string> = new Set();

  constructor(config: ResolvedHubOptions) {
    this.#agentCas = config.agentCa !== undefined ? bundleCertificates(config.agentCa) : [];
    this.#clientCas = config.clientCa !== undefined ? bundleCertificates(config.clientCa) : [];
    this.setTokens(config.agentTokens, config.clientTokens);
  }

  /** Replaces the accepted tokens (checked by the caller); sessions already open are not affected. */
  setTokens(agentTokens: readonly AgentToken[], clientTokens: readonly string[]): void {
    this.#agentTokens = agentTokens.map((t) => (typeof t === 'string' ? { token: t, id: undefined } : t));
    this.#clientTokens = clientTokens;
    this.#reserved = new Set(this.#agentTokens.flatMap((t) => (t.id !== undefined ? [t.id] : [])));
  }

  /** The client tokens accepted now (the CONNECT front end checks them too). */
  get clientTokens(): readonly string[] {
    return this.#clientTokens;
  }

  /** The TLS server options that ask for (and verify against both roles' CAs) a client certificate. */
  static tlsOptions(config: ResolvedHubOptions): { ca?: Array<string | Buffer>; requestCert?: boolean; rejectUnauthorized?: boolean } {
    const ca = [config.agentCa, config.clientCa].filter((c) => c !== undefined);
    // Verified here, per role, rather than by the handshake: token callers need not present a certificate.
    return ca.length > 0 ? { ca, requestCert: true, rejectUnauthorized: false } : {};
  }

  authenticate(req: IncomingMessage, role: HubRole): AuthVerdict {
    const socket = req.socket as Partial<TLSSocket>;
    if (socket.authorized === true && typeof socket.getPeerCertificate === 'function') {
      const leaf = socket.getPeerCertificate(true);
      const anchors = issuersOf(leaf);
      const signedBy = anchors.some((a) => this.#agentCas.some((c) => c.equals(a)))
        ? 'agent'
        : anchors.some((a) => this.#clientCas.some((c) => c.equals(a)))
          ? 'client'
          : undefined;
      if (signedBy !== undefined && signedBy !== role) {
        return {
          ok: false,
          reason: `a certificate from the ${signedBy} CA (${signedBy}Ca) cannot authenticate ${role === 'agent' ? 'an agent' : 'a client'}`,
        };
      }
      if (signedBy === 'client') return { ok: true, credential: undefined };
      if (signedBy === 'agent') {
        const cn = leaf.subject?.CN;
        if (typeof cn !== 'string' || cn === '') {
          return { ok: false, reason: 'an agent certificate needs one subject CN: it is the agent id the agent may announce' };
        }
        return { ok: true, credential: { label: `certificate CN=${cn}`, boundId: cn, principal: `id:${cn}` } };
      }
    }
    const presented = bearerToken(req.headers.authorization);
    if (role === 'client') {
      return tokenIndex(presented, this.#clientTokens) >= 0
        ? { ok: true, credential: undefined }
        : { ok: false, reason: 'missing or wrong credentials' };
    }
    const i = tokenIndex(
      presented,
      this.#agentTokens.map((t) => t.token),
    );
    const entry = this.#agentTokens[i];
    if (entry === undefined) return { ok: false, reason: 'missing or wrong credentials' };
    return {
      ok: true,
      credential:
        entry.id !== undefined
          ? { label: `token bound to ${entry.id}`, boundId: entry.id, principal: `id:${entry.id}` }
          : { label: `token #${i + 1} (any id)`, boundId: undefined, principal: `token#${i}` },
    };
  }

  /** Throws `ERR_AUTH_FAILED` unless `credential` may announce agent id `id`. */
  checkAgentId(credential: AgentCredential, id: string): void {
    if (credential.boundId !== undefined && credential.boundId !== id) {
      throw new SpokeError(
        'ERR_AUTH_FAILED',
        `The agent announced the id "${id}" but its credential (${credential.label}) is bound to "${credential.boundId}".`,
      );
    }
    if (credential.boundId === undefined && this.#reserved.has(id)) {
      throw new SpokeError(
        'ERR_AUTH_FAILED',
        `The agent announced the id "${id}" with a ${credential.label}, but "${id}" is bound to its own agent token.`,
      );
    }
  }
}
