/**
 * Test kit for spoke backends: the Dialer compliance suite and the helpers it
 * is made of. Import from `@spoke/transport-core/testing` (needs vitest).
 *
 * @packageDocumentation
 */
export { describeDialer } from './describe-dialer.js';
export type { DialerCapabilities, DialerHarness, DialerSuiteOptions, HangingServedTarget, ServedTarget } from './describe-dialer.js';
export { serveTcp, closedTcpPort, activeSockets, openSockets } from './tcp-fixtures.js';
export { createHangingTarget } from './hanging-target.js';
export type { HangingTarget } from './hanging-target.js';
export { writeBytes, readDigest, readAll, echo, closed, waitFor, waitForStall } from './bytes.js';
// The bounded head reader of the utils entry point, here too because tests read exact byte counts everywhere.
export { readExactly } from '../read-until.js';
export type { Digest, StallOptions } from './bytes.js';
export { createSessionPair, sessionPairOptions, pairOf } from './session-pair.js';
export type { SessionPair, PairCarrier, SessionPairOptions } from './session-pair.js';
export { runNodeFixture } from './node-fixture.js';
export type { FixtureExit, NodeFixtureOptions } from './node-fixture.js';
export { rawHello } from './raw-hello.js';
export { IP, createNetns, netnsExists, requireNetnsPrivileges, waitForOutput } from './netns.js';
export type { TestNetns } from './netns.js';
export { freePort, freeRegisteredPort } from './ports.js';
