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

/** Echoes each chunk back as it arrives (never closes on its own). */
export function serveEcho(): Promise<ServedTarget> {
  return serveTcp((s: Duplex) => {
    s.on('error', () => {});
    s.on('data', (b: Buffer) => s.write(b));
    s.on('end', () => s.end());
  });
}

/** `host:port` text of a served target. */
export function addr(t: ServedTarget): string {
  const x = t.target;
  if (typeof x === 'string') return x;
  return 'host' in x ? `${x.host}:${x.port}` : x.path;
}
