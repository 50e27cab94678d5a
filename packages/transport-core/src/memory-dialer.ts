import type { Duplex } from 'node:stream';
import { SpokeError } from './errors.js';
import type { Dialer, DialOptions } from './dialer.js';
import { dialTarget } from './dial-scope.js';
import { createDuplexPair } from './memory-stream.js';
import { formatTarget, isUnixTarget, parseTarget, type Target } from './target.js';

/** Options of {@link MemoryDialer.listen}. */
export interface MemoryListenOptions {
  /**
   * Runs before each connection is accepted; the dial waits for it. Reject to
   * refuse the connection. Receives the dial's signal (abort/timeout).
   */
  accept?: (signal: AbortSignal) => Promise<void> | void;
  /** Per-stream buffer size, as {@link DuplexPairOptions.highWaterMark}. */
  highWaterMark?: number;
}

/** An in-process network: `listen()` on an address, `dial()` it. */
export interface MemoryDialer extends Dialer {
  /** Serves `address` (`"host:port"` or `"unix:/path"`); returns a function that stops listening. */
  listen(address: Target | string, onConnection: (stream: Duplex) => void, options?: MemoryListenOptions): () => void;
}

interface Listener {
  target: Target;
  onConnection: (stream: Duplex) => void;
  options: MemoryListenOptions;
}

/**
 * A dialer over in-process stream pairs, for tests of code that takes a
 * Dialer. Unknown host → `ERR_DIAL_UNREACHABLE`; known host, closed port →
 * `ERR_DIAL_REFUSED`, as a real network would answer.
 */
export function createMemoryDialer(): MemoryDialer {
  const listeners = new Map<string, Listener>();
  let closed = false;

  return {
    kind: 'memory',
    listen(address, onConnection, options = {}) {
      const target = parseTarget(address);
      const key = formatTarget(target);
      if (listeners.has(key)) {
        throw new SpokeError(
          'ERR_BAD_OPTION',
          `Something already listens on memory address ${key}; pick another address or stop the first listener.`,
        );
      }
      const entry: Listener = { target, onConnection, options };
      listeners.set(key, entry);
      return () => {
        if (listeners.get(key) === entry) listeners.delete(key);
      };
    },
    dial(input: Target | string, dialOptions?: DialOptions) {
      return dialTarget(
        input,
        dialOptions,
        'memory',
        () => closed,
        async (target, signal) => {
          const key = formatTarget(target);
          const listener = listeners.get(key);
          if (listener === undefined) throw missing(target);
          await listener.options.accept?.(signal);
          signal.throwIfAborted();
          const [client, server] = createDuplexPair({
            highWaterMark: listener.options.highWaterMark,
            remoteAddress: key,
            localAddress: 'memory',
          });
          listener.onConnection(server);
          return client;
        },
      );
    },
    close() {
      closed = true;
      listeners.clear();
      return Promise.resolve();
    },
  };

  function missing(target: Target): SpokeError {
    const text = formatTarget(target);
    if (!isUnixTarget(target)) {
      const hostKnown = [...listeners.values()].some((l) => !isUnixTarget(l.target) && l.target.host === target.host);
      if (!hostKnown) {
        return new SpokeError('ERR_DIAL_UNREACHABLE', `No host ${target.host} exists on this memory network. Call listen() on it first.`, {
          target,
          hop: 'memory',
        });
      }
    }
    return new SpokeError('ERR_DIAL_REFUSED', `Nothing listens on memory address ${text}. Call listen() on it first.`, {
      target,
      hop: 'memory',
    });
  }
}
