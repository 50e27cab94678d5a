import { SpokeError } from '../errors.js';
import { FEATURES, PROTOCOL_VERSIONS, type HelloFrame } from './frame.js';
import type { PeerHello, ResolvedSessionOptions } from './session-options.js';

type HelloOptions = Pick<
  ResolvedSessionOptions,
  'role' | 'id' | 'identifiers' | 'maxFrame' | 'initialWindow' | 'sessionWindow' | 'auth' | 'extensions' | 'onListen'
>;

/** Our HELLO (PROTOCOL.md §3). */
export function helloFrame(o: HelloOptions): HelloFrame {
  return {
    type: 'HELLO',
    versions: [...PROTOCOL_VERSIONS],
    role: o.role,
    id: o.id,
    identifiers: o.identifiers,
    maxFrame: o.maxFrame,
    initialWindow: o.initialWindow,
    sessionWindow: o.sessionWindow,
    ...(o.auth !== undefined ? { auth: o.auth } : {}),
    ...(o.extensions !== undefined ? { extensions: o.extensions } : {}),
    // Announced only when it is true: a peer sends LISTEN only to a peer that takes it (PROTOCOL.md §4a).
    ...(o.onListen !== undefined ? { features: [FEATURES.listen] } : {}),
  };
}

/**
 * Checks the peer's HELLO against ours (a common version, the other role) and the
 * application's `onHello`; throws the SpokeError that ends the session.
 */
export function acceptHello(hello: HelloFrame, o: Pick<ResolvedSessionOptions, 'role' | 'onHello'>): PeerHello {
  const common = hello.versions.filter((v) => PROTOCOL_VERSIONS.includes(v));
  if (common.length === 0) {
    throw new SpokeError(
      'ERR_VERSION_MISMATCH',
      `The peer speaks spoke versions [${hello.versions.join(', ')}], this side [${PROTOCOL_VERSIONS.join(', ')}]. Upgrade the older side.`,
    );
  }
  if (hello.role === o.role) {
    throw new SpokeError(
      'ERR_PROTOCOL',
      `Both sides claim the role "${hello.role}"; one end must be the initiator and the other the responder.`,
    );
  }
  const peer: PeerHello = {
    id: hello.id,
    identifiers: hello.identifiers,
    role: hello.role,
    version: Math.max(...common),
    maxFrame: hello.maxFrame,
    initialWindow: hello.initialWindow,
    sessionWindow: hello.sessionWindow,
    ...(hello.auth !== undefined ? { auth: hello.auth } : {}),
    ...(hello.extensions !== undefined ? { extensions: hello.extensions } : {}),
    features: hello.features ?? [],
  };
  try {
    o.onHello?.(peer);
  } catch (err) {
    throw err instanceof SpokeError
      ? err
      : new SpokeError('ERR_AUTH_FAILED', `The peer was refused: ${(err as Error).message}`, { cause: err });
  }
  return peer;
}
