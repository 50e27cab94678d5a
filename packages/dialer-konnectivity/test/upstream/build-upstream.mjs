// Builds upstream Konnectivity's proxy-server and proxy-agent, and our Go test
// client (go/client, on upstream's konnectivity-client library), from the Go
// module proxy at the version pinned in go/go.mod. Binaries are cached per
// version and source hash, so only the first run pays for the build.
//
//   node test/upstream/build-upstream.mjs      (prints the bin directory)
//
// Cache: $SPOKE_KONNECTIVITY_CACHE, else $XDG_CACHE_HOME/spoke-konnectivity-upstream,
// else <repo>/node_modules/.cache/spoke-konnectivity-upstream.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const moduleDir = join(here, 'go');

/** The pinned upstream version (from go/go.mod). */
export const UPSTREAM_VERSION = /sigs\.k8s\.io\/apiserver-network-proxy (v\S+)/.exec(readFileSync(join(moduleDir, 'go.mod'), 'utf8'))[1];

/** Names of the binaries in the bin directory. */
export const BINARIES = { server: 'proxy-server', agent: 'proxy-agent', client: 'konnectivity-test-client' };

function cacheRoot() {
  if (process.env.SPOKE_KONNECTIVITY_CACHE) return resolve(process.env.SPOKE_KONNECTIVITY_CACHE);
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'spoke-konnectivity-upstream');
  return resolve(here, '../../../../node_modules/.cache/spoke-konnectivity-upstream');
}

function sourceHash() {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'client/main.go']) h.update(f).update(readFileSync(join(moduleDir, f)));
  return h.digest('hex').slice(0, 12);
}

/** Builds (if needed) and returns `{ dir, server, agent, client, built, seconds }`. */
export function ensureUpstreamBinaries() {
  const dir = join(cacheRoot(), `${UPSTREAM_VERSION}-${sourceHash()}`);
  const paths = Object.fromEntries(Object.entries(BINARIES).map(([k, name]) => [k, join(dir, name)]));
  if (Object.values(paths).every((p) => existsSync(p))) return { dir, ...paths, built: false, seconds: 0 };
  const started = Date.now();
  // A cold Go module cache makes this the longest step of a first test run: say what is happening.
  console.error(
    `[dialer-konnectivity] building upstream Konnectivity ${UPSTREAM_VERSION} (proxy-server, proxy-agent, test client) with go build; once per machine, a few minutes on a cold module cache`,
  );
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const env = { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' };
  const packages = [
    [BINARIES.server, 'sigs.k8s.io/apiserver-network-proxy/cmd/server'],
    [BINARIES.agent, 'sigs.k8s.io/apiserver-network-proxy/cmd/agent'],
    [BINARIES.client, './client'],
  ];
  for (const [name, pkg] of packages) {
    console.error(`[dialer-konnectivity]   go build ${pkg}`);
    const r = spawnSync('go', ['build', '-o', join(tmp, name), pkg], { cwd: moduleDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.error || r.status !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(
        `go build ${pkg} failed (${r.error?.message ?? `exit ${r.status}`}). Konnectivity interop tests need Go >= 1.26 and the Go module proxy.`,
      );
    }
  }
  mkdirSync(dirname(dir), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(join(dir, 'BUILD_INFO'), `upstream ${UPSTREAM_VERSION}, built in ${seconds.toFixed(1)} s\n`);
  return { dir, ...paths, built: true, seconds };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = ensureUpstreamBinaries();
  console.log(`${r.built ? `built in ${r.seconds.toFixed(1)} s` : 'cached'}: ${r.dir}`);
}
