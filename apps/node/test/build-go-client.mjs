// Builds the Go test client (go/client: client-go's remotecommand and
// portforward clients at the version pinned in go/go.mod) from the Go module
// proxy. The binary is cached per source hash, so only the first run on a
// machine pays for the build.
//
//   node apps/node/test/build-go-client.mjs      (prints the binary's path)
//
// Cache: $SPOKE_NODE_GO_CACHE, else $XDG_CACHE_HOME/spoke-node-go-client,
// else <repo>/node_modules/.cache/spoke-node-go-client.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const moduleDir = join(here, 'go');
const SOURCES = ['go.mod', 'go.sum', 'client/main.go'];

/** The pinned client-go version (from go/go.mod). */
export const CLIENT_GO_VERSION = /k8s\.io\/client-go (v\S+)/.exec(readFileSync(join(moduleDir, 'go.mod'), 'utf8'))[1];

function cacheRoot() {
  if (process.env.SPOKE_NODE_GO_CACHE) return resolve(process.env.SPOKE_NODE_GO_CACHE);
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'spoke-node-go-client');
  return resolve(here, '../../../node_modules/.cache/spoke-node-go-client');
}

function sourceHash() {
  const h = createHash('sha256');
  for (const f of SOURCES) h.update(f).update(readFileSync(join(moduleDir, f)));
  return h.digest('hex').slice(0, 12);
}

/** Builds the client if needed; returns `{ path, built, seconds }`. */
export function ensureGoClient() {
  const path = join(cacheRoot(), `client-go-${CLIENT_GO_VERSION}-${sourceHash()}`, 'kubelet-test-client');
  if (existsSync(path)) return { path, built: false, seconds: 0 };
  const started = Date.now();
  // A cold Go module cache makes this the longest step of a first run: say what is happening.
  console.error(
    `[app-node] building the Go test client on client-go ${CLIENT_GO_VERSION} (go build; once per machine, minutes on a cold module cache)`,
  );
  const tmp = `${path}.tmp-${process.pid}`;
  mkdirSync(dirname(path), { recursive: true });
  const r = spawnSync('go', ['build', '-o', tmp, './client'], {
    cwd: moduleDir,
    env: { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(
      `go build ./client failed (${r.error?.message ?? `exit ${r.status}`}). The kubelet interop tests need Go >= 1.26 and the Go module proxy.`,
    );
  }
  renameSync(tmp, path);
  return { path, built: true, seconds: (Date.now() - started) / 1000 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = ensureGoClient();
  console.log(`${r.built ? `built in ${r.seconds.toFixed(1)} s` : 'cached'}: ${r.path}`);
}
