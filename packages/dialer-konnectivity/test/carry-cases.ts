import { expect } from 'vitest';
import type { Dialer } from '@spoke/transport-core';
import { closed, readAll, readDigest, readExactly, serveTcp, waitFor, writeBytes, type Digest } from '@spoke/transport-core/testing';
import { serveDigestSink, serveLineUpper, type Serve } from './targets.js';

// The carrying cases every pairing of a client with a proxy-server and agent runs.

/**
 * The shared "destroy() closes the destination" case of every pairing: a target that writes one
 * byte, the dialler destroys after reading it, and the target's connection must close.
 */
export async function expectDestroyClosesTarget(dialer: Dialer, serve: Serve): Promise<void> {
  let targetClosed: Promise<Error | undefined> | undefined;
  const target = await serve(
    serveTcp((t) => {
      targetClosed = closed(t);
      // serveTcp sockets are half-open capable: finish our side when the agent closes its side.
      t.on('end', () => t.end());
      t.resume();
      t.write('x');
    }),
  );
  const s = await dialer.dial(target);
  await readExactly(s, 1);
  s.destroy();
  await waitFor(() => targetClosed !== undefined, 'target saw the connection');
  await targetClosed;
}

/** Sends `total` bytes to a digest sink through `dialer` and expects its count and sha256 back. */
export async function expectUploadDigest(dialer: Dialer, serve: Serve, total: number): Promise<void> {
  const s = await dialer.dial(await serve(serveDigestSink(total)));
  const answer = readAll(s);
  const sent = await writeBytes(s, total, { end: false });
  expect((await answer).toString()).toBe(`${sent.bytes} ${sent.sha256}`);
}

/** A target writes `total` bytes and closes; what arrives through `dialer` must match its count and sha256. */
export async function expectDownloadDigest(dialer: Dialer, serve: Serve, total: number): Promise<void> {
  let sent: Promise<Digest> | undefined;
  const target = await serve(
    serveTcp((t) => {
      t.on('error', () => {});
      t.resume();
      sent = writeBytes(t, total);
    }),
  );
  const got = await readDigest(await dialer.dial(target));
  expect(got).toEqual(await sent);
}

/** `count` connections at once to one line-upper target, each answered with its own line. */
export async function expectConcurrentDials(dialer: Dialer, serve: Serve, count: number): Promise<void> {
  const target = await serve(serveLineUpper());
  const results = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const s = await dialer.dial(target);
      s.write(`line ${i}\n`);
      return (await readAll(s)).toString() === `LINE ${i}\n`;
    }),
  );
  expect(results.every(Boolean)).toBe(true);
}
