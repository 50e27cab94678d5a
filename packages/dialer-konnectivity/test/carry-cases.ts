import type { Duplex } from 'node:stream';
import { expect } from 'vitest';
import { createNetDialer, type Dialer } from '@spoke/transport-core';
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

/**
 * Upload, end, and only then read (the compliance suite's bulk upload case, made deterministic): the
 * target gets `total` bytes and its end, the server closes our connection to it (no half-close), and
 * only once that connection has closed does the caller start reading: its end must still be there.
 * `connect` builds the dialer over `via`, which lets the test see the connection to the server.
 */
export async function expectEndKeptForLateReader(connect: (via: Dialer) => Dialer, serve: Serve, total: number): Promise<void> {
  const net = createNetDialer();
  const toServer: Duplex[] = [];
  const via: Dialer = {
    kind: 'recording',
    dial: async (target, options) => {
      const s = await net.dial(target, options);
      toServer.push(s);
      return s;
    },
    close: () => net.close(),
  };
  let received: Promise<Digest> | undefined;
  const target = await serve(
    serveTcp((t) => {
      t.on('error', () => {});
      received = readDigest(t);
    }),
  );
  const dialer = connect(via);
  try {
    const s = await dialer.dial(target);
    const sent = await writeBytes(s, total);
    await waitFor(() => received !== undefined, 'the target to be reached');
    expect(await received).toEqual(sent);
    expect(toServer).toHaveLength(1);
    await closed(toServer[0] as Duplex);
    // Nobody has read yet: the end must not have been spent, nor the stream closed under the caller.
    expect({ ended: s.readableEnded, destroyed: s.destroyed }).toEqual({ ended: false, destroyed: false });
    expect(await readAll(s)).toHaveLength(0);
    await closed(s);
  } finally {
    await dialer.close();
  }
}
