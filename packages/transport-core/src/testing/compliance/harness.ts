import type { Duplex } from 'node:stream';
import type { Dialer } from '../../dialer.js';
import type { SpokeErrorCode } from '../../errors.js';
import type { Target } from '../../target.js';

/** A service exposed for the suite; `close()` stops accepting and ends its connections. */
export interface ServedTarget {
  target: Target | string;
  close(): Promise<void>;
}

/** A target whose dial never completes. */
export interface HangingServedTarget extends ServedTarget {
  /**
   * Resolves once a dial's connection attempt has reached the target (for TCP:
   * a SYN nobody answers). Without it the suite aborts right after starting the
   * dial, which may be before the backend got as far as connecting.
   */
  attempted?(): Promise<void>;
}

/** Protocol limits a backend declares; each false one runs a test of the documented fallback instead. */
export interface DialerCapabilities {
  /** `end()` keeps the other direction open (Konnectivity: no). Default true. */
  halfClose?: boolean;
  /** A reset travels to the far side as a reset, not a clean end (SSH channels: no; sshd turns RST into EOF). Default true. */
  resetReachesServer?: boolean;
  /** The same from the far side to the dialler. Default true. */
  resetReachesClient?: boolean;
}

/**
 * What a backend gives the compliance suite, made fresh for every test and
 * freed after it. Everything but `dialer` has a TCP default. A backend whose
 * far side is expensive to start (a real sshd, upstream binaries) starts it in
 * its own `beforeAll` and hands each test a new dialer to it.
 */
export interface DialerHarness {
  /** The dialer under test; the suite closes it after each test. */
  dialer: Dialer;
  /**
   * Exposes `handler` where `dialer` can reach it. Default: a TCP server on
   * 127.0.0.1 port 0 (right for every backend whose far side dials TCP).
   */
  serve?(handler: (stream: Duplex) => void): ServedTarget | Promise<ServedTarget>;
  /** A target that refuses connections. Default: a just-closed port on 127.0.0.1. */
  refusedTarget?(): Target | string | Promise<Target | string>;
  /** A target whose dial never completes. Default: {@link createHangingTarget}. */
  hangingTarget?(): HangingServedTarget | Promise<HangingServedTarget>;
  /** A host that does not exist and the codes acceptable for it. Default: `spoke-test.invalid:80`, `ERR_DIAL_UNREACHABLE`. */
  unreachable?: { target: Target | string; codes: SpokeErrorCode[] };
  /** Whether a reset by the far side reaches the dialler as an `ERR_STREAM_RESET` error (false: a close without error or end). Default true. */
  resetIsError?: boolean;
  /** Declared limits of the backend's protocol; the suite skips nothing silently. */
  capabilities?: DialerCapabilities;
  /** Frees whatever this harness created (servers, hubs, agents). Runs after `dialer.close()`. */
  teardown?(): void | Promise<void>;
}

/** Sizes the suite uses. */
export interface DialerSuiteOptions {
  /** Bytes moved each way in the bulk tests. Default 64 MiB. */
  bulkBytes?: number;
  /** Streams opened at once in the concurrency test. Default 100. */
  concurrentStreams?: number;
  /** Upper bound of bytes a paused reader may let the writer push. Default 32 MiB. */
  pausedBufferLimit?: number;
}

export const MiB = 1024 * 1024;

/**
 * Bound on dials and waits that should finish quickly: it only turns a hang
 * into a failure with a message, so it is generous for a loaded 2-vCPU machine
 * (and below vitest's 60 s test timeout).
 */
export const HANG_BOUND_MS = 30_000;
