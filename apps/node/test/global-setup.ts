import { ensureGoClient } from './build-go-client.mjs';

/** Builds (or finds cached) the client-go test client before any test file starts, outside test timeouts. */
export default function setup(): void {
  const r = ensureGoClient();
  if (r.built) console.log(`[app-node] built the Go test client in ${r.seconds.toFixed(1)} s → ${r.path}`);
}
