import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { serveTcp, type ServedTarget } from '@spoke/transport-core/testing';

/**
 * A TCP service on 127.0.0.1 that reads one line, answers it upper-cased and
 * closes. Konnectivity cannot carry half-close, so request/response tests need
 * a target that closes by itself (as an HTTP server with `Connection: close`).
 */
export function serveLineUpper(): Promise<ServedTarget> {
  return serveTcp((s: Duplex) => {
    let buf = '';
    s.on('error', () => {});
    s.on('data', (b: Buffer) => {
      buf += b.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) s.end(buf.slice(0, nl + 1).toUpperCase());
    });
  });
}

/** Reads `total` bytes, then answers `"<bytes> <sha256 hex>"` and closes (a digest check without half-close). */
export function serveDigestSink(total: number): Promise<ServedTarget> {
  return serveTcp((s: Duplex) => {
    const hash = createHash('sha256');
    let n = 0;
    s.on('error', () => {});
    s.on('data', (b: Buffer) => {
      hash.update(b);
      n += b.length;
      if (n >= total) s.end(`${n} ${hash.digest('hex')}`);
    });
  });
}

/** Echoes each chunk back as it arrives (never closes on its own). */
export function serveEcho(): Promise<ServedTarget> {
  return serveTcp((s: Duplex) => {
    s.on('error', () => {});
    s.on('data', (b: Buffer) => s.write(b));
    s.on('end', () => s.end());
  });
}

/** Keeps a served target for the suite's cleanup and answers its `host:port`. */
export type Serve = (t: Promise<ServedTarget>) => Promise<string>;

/** `host:port` text of a served target. */
export function addr(t: ServedTarget): string {
  const x = t.target;
  if (typeof x === 'string') return x;
  return 'host' in x ? `${x.host}:${x.port}` : x.path;
}

/**
 * Targets a test suite serves, closed together in its afterAll. `serve` keeps a target and answers
 * its `host:port` (the argument of `dial`).
 */
export function servedTargets(): { serve: Serve; close: () => Promise<void> } {
  const targets: ServedTarget[] = [];
  return {
    serve: async (t) => {
      const s = await t;
      targets.push(s);
      return addr(s);
    },
    close: async () => {
      await Promise.all(targets.splice(0).map((t) => t.close()));
    },
  };
}
