import { afterEach, beforeEach, describe } from 'vitest';
import { describeAbortAndTimeout } from './compliance/abort.js';
import { describeBoundedBuffering } from './compliance/buffering.js';
import { describeBulkTransfer } from './compliance/bulk.js';
import { describeConcurrency } from './compliance/concurrency.js';
import { ComplianceContext } from './compliance/context.js';
import { describeEchoAndTargets } from './compliance/echo.js';
import { describeHalfClose } from './compliance/half-close.js';
import type { DialerHarness, DialerSuiteOptions } from './compliance/harness.js';
import { describeLifecycle } from './compliance/lifecycle.js';
import { describeReset } from './compliance/reset.js';

export type { DialerCapabilities, DialerHarness, DialerSuiteOptions, HangingServedTarget, ServedTarget } from './compliance/harness.js';

/**
 * The compliance suite every Dialer runs: echo, refused, unknown and malformed
 * targets, bulk transfer with sha256, half-close both ways, reset both ways,
 * abort and timeout without leaks, concurrency, bounded buffering under a
 * paused reader, and dials after close().
 *
 * `makeHarness` runs before every test and the harness it returns is torn down
 * after that test (services, streams, `dialer.close()`, `teardown()`), so a
 * failing test leaves nothing behind for the next one.
 */
export function describeDialer(
  name: string,
  makeHarness: () => DialerHarness | Promise<DialerHarness>,
  options: DialerSuiteOptions = {},
): void {
  describe(`Dialer compliance: ${name}`, () => {
    const ctx = new ComplianceContext(makeHarness, options);
    beforeEach(() => ctx.setUp());
    afterEach(() => ctx.tearDown());

    describeEchoAndTargets(ctx);
    describeBulkTransfer(ctx);
    describeHalfClose(ctx);
    describeReset(ctx);
    describeAbortAndTimeout(ctx);
    describeConcurrency(ctx);
    describeBoundedBuffering(ctx);
    describeLifecycle(ctx);
  });
}
