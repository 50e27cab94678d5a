import type { HelloFrame } from '../mux/frame.js';

/**
 * The HELLO a hand-written test peer sends (raw peers, fuzzers, attackers):
 * spoke/1, an initiator with small default limits; `over` changes any field.
 */
export function rawHello(over: Partial<HelloFrame> = {}): HelloFrame {
  return {
    type: 'HELLO',
    versions: [1],
    role: 'initiator',
    id: 'raw',
    identifiers: '',
    maxFrame: 65536,
    initialWindow: 65536,
    sessionWindow: 1 << 20,
    ...over,
  };
}
