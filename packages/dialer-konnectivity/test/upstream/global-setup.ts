import { ensureUpstreamBinaries } from './build-upstream.mjs';

/** Builds (or finds cached) upstream proxy-server, proxy-agent and the Go test client. */
export default function setup(): void {
  const r = ensureUpstreamBinaries();
  if (r.built) console.log(`[dialer-konnectivity] built upstream Konnectivity binaries in ${r.seconds.toFixed(1)} s → ${r.dir}`);
}
