// Builds helm from the Go module proxy at a pinned version (go install checks it
// against the Go checksum database), with the version and Kubernetes ldflags helm's
// Makefile sets. Cached per version: one build per machine (about 7 minutes on
// 2 vCPUs with a cold module cache, under a minute with a warm one).
//
//   node deploy/tools/build-helm.mjs      (prints the binary's path)
//
// Cache: $SPOKE_HELM_CACHE, else $XDG_CACHE_HOME/spoke-helm, else
// <repo>/node_modules/.cache/spoke-helm.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The helm release the chart is linted and rendered with. */
export const HELM_VERSION = 'v3.19.5';
/** The Kubernetes minor helm v3.19 is built against (its client-go is v0.34): `.Capabilities.KubeVersion`. */
const K8S_MAJOR = '1';
const K8S_MINOR = '34';

function cacheRoot() {
  if (process.env.SPOKE_HELM_CACHE) return resolve(process.env.SPOKE_HELM_CACHE);
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'spoke-helm');
  return resolve(here, '../../node_modules/.cache/spoke-helm');
}

/** Where the binary lives once built. */
export function helmPath() {
  return join(cacheRoot(), HELM_VERSION, 'helm');
}

/** Builds (if needed); returns `{ path, built, seconds }`. */
export function ensureHelm() {
  const path = helmPath();
  if (existsSync(path)) return { path, built: false, seconds: 0 };
  const started = Date.now();
  // A cold Go module cache makes this a long first step: say what is happening.
  console.error(`[deploy] building helm ${HELM_VERSION} with go install; once per machine, minutes on a cold module cache`);
  const tmp = `${dirname(path)}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const ldflags = [
    '-s -w',
    `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
    `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${K8S_MAJOR}`,
    `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${K8S_MINOR}`,
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${K8S_MAJOR}`,
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${K8S_MINOR}`,
  ].join(' ');
  const env = { ...process.env, GOBIN: tmp, CGO_ENABLED: '0', GOFLAGS: '-trimpath' };
  const r = spawnSync('go', ['install', '-ldflags', ldflags, `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
    cwd: tmp,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(
      `go install helm.sh/helm/v3/cmd/helm@${HELM_VERSION} failed (${r.error?.message ?? `exit ${r.status}`}). The deploy tests need Go and the Go module proxy.`,
    );
  }
  rmSync(dirname(path), { recursive: true, force: true });
  renameSync(tmp, dirname(path));
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(join(dirname(path), 'BUILD_INFO'), `helm ${HELM_VERSION}, built in ${seconds.toFixed(1)} s\n`);
  return { path, built: true, seconds };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = ensureHelm();
  console.log(`${r.built ? `built in ${r.seconds.toFixed(1)} s` : 'cached'}: ${r.path}`);
}
