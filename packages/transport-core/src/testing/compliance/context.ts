import type { Duplex } from 'node:stream';
import type { DialOptions, Dialer } from '../../dialer.js';
import type { SpokeErrorCode } from '../../errors.js';
import type { Target } from '../../target.js';
import { createHangingTarget } from '../hanging-target.js';
import { closedTcpPort, serveTcp } from '../tcp-fixtures.js';
import {
  MiB,
  type DialerCapabilities,
  type DialerHarness,
  type DialerSuiteOptions,
  type HangingServedTarget,
  type ServedTarget,
} from './harness.js';

/** A service one test started: where to dial it and what its handler saw. */
export interface Service<T> {
  target: Target | string;
  /** The server side of the first connection, once the handler has been called with it. */
  accepted: Promise<Duplex>;
  /** What the handler returned (awaited) for the first connection. */
  result: Promise<Awaited<T>>;
  /** Connections the handler has been called with so far. */
  connections(): number;
}

/** What one test owns; everything in it is freed after the test, whatever its outcome. */
interface TestResources {
  harness: DialerHarness;
  served: ServedTarget[];
  streams: Set<Duplex>;
}

/**
 * The state of one compliance test: a fresh harness from the backend's factory
 * (`setUp`, from `beforeEach`), the services and streams the test opened, and
 * `tearDown` (from `afterEach`) that frees all of it even when the test failed.
 */
export class ComplianceContext {
  readonly sizes: Required<DialerSuiteOptions>;
  readonly #makeHarness: () => DialerHarness | Promise<DialerHarness>;
  #test: TestResources | undefined;

  constructor(makeHarness: () => DialerHarness | Promise<DialerHarness>, options: DialerSuiteOptions) {
    this.#makeHarness = makeHarness;
    this.sizes = {
      bulkBytes: options.bulkBytes ?? 64 * MiB,
      concurrentStreams: options.concurrentStreams ?? 100,
      pausedBufferLimit: options.pausedBufferLimit ?? 32 * MiB,
    };
  }

  async setUp(): Promise<void> {
    this.#test = { harness: await this.#makeHarness(), served: [], streams: new Set() };
  }

  /** Destroys what the test left open, then closes its services, the dialer and the harness. */
  async tearDown(): Promise<void> {
    const test = this.#test;
    this.#test = undefined;
    if (!test) return;
    for (const s of test.streams) s.destroy();
    const failures: unknown[] = [];
    const attempt = async (step: () => unknown): Promise<void> => {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    };
    await Promise.all(test.served.map((s) => attempt(() => s.close())));
    await attempt(() => test.harness.dialer.close());
    await attempt(() => test.harness.teardown?.());
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, 'tearing down the compliance test failed');
  }

  get harness(): DialerHarness {
    if (!this.#test) throw new Error('the compliance context is only usable inside a test');
    return this.#test.harness;
  }

  get dialer(): Dialer {
    return this.harness.dialer;
  }

  get caps(): Required<DialerCapabilities> {
    return { halfClose: true, resetReachesServer: true, resetReachesClient: true, ...this.harness.capabilities };
  }

  get unreachable(): { target: Target | string; codes: SpokeErrorCode[] } {
    return this.harness.unreachable ?? { target: 'spoke-test.invalid:80', codes: ['ERR_DIAL_UNREACHABLE'] };
  }

  /** Dials with the dialer under test; a stream the test leaves open is destroyed after it. */
  async dial(target: Target | string, options?: DialOptions): Promise<Duplex> {
    const streams = this.#resources().streams;
    const stream = await this.dialer.dial(target, options);
    streams.add(stream);
    stream.once('close', () => streams.delete(stream));
    return stream;
  }

  /** Serves `handler` where the dialer reaches it (the harness's `serve`, else TCP), for this test only. */
  async serve<T>(handler: (stream: Duplex) => T): Promise<Service<T>> {
    let count = 0;
    let accept!: (s: Duplex) => void;
    let settle!: (result: Promise<Awaited<T>>) => void;
    const accepted = new Promise<Duplex>((r) => (accept = r));
    const result = new Promise<Awaited<T>>((r) => (settle = r));
    // A test that does not look at the result must not turn its failure into an unhandled rejection.
    result.catch(() => {});
    const wrapped = (stream: Duplex): void => {
      count++;
      const first = count === 1;
      // Inside the executor a synchronous throw from the handler becomes a rejection, like a returned one.
      const outcome = new Promise<T>((resolve) => resolve(handler(stream)));
      if (first) {
        accept(stream);
        settle(outcome as Promise<Awaited<T>>);
      } else {
        outcome.catch(() => {});
      }
    };
    const served = await (this.harness.serve ? this.harness.serve(wrapped) : serveTcp(wrapped));
    this.#resources().served.push(served);
    return { target: served.target, accepted, result, connections: () => count };
  }

  /** The backend's never-answering target (default: a filled TCP accept queue), closed after the test. */
  async hangingTarget(): Promise<HangingServedTarget> {
    const hanging = this.harness.hangingTarget ? await this.harness.hangingTarget() : await createHangingTarget();
    this.#resources().served.push(hanging);
    return hanging;
  }

  /** The backend's refusing target (default: a just-closed 127.0.0.1 port). */
  async refusedTarget(): Promise<Target | string> {
    return this.harness.refusedTarget ? await this.harness.refusedTarget() : closedTcpPort();
  }

  #resources(): TestResources {
    if (!this.#test) throw new Error('the compliance context is only usable inside a test');
    return this.#test;
  }
}
