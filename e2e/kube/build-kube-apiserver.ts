// Builds the real kube-apiserver from the Go module proxy at a pinned version. As a
// dependency, k8s.io/kubernetes's `./staging` replace lines do not apply, so a throwaway
// module requires k8s.io/kubernetes vX.Y.Z and replaces each staging module it lists with
// the published k8s.io/<module> v0.Y.Z. The binary is cached per version: one build per
// machine (about 5 minutes on 2 vCPUs with a warm module cache).
//
//   npm run kube:build -w @spoke/e2e        (prints the binary's path)
//
// Cache: $SPOKE_KUBE_CACHE, else $XDG_CACHE_HOME/spoke-kube-apiserver, else
// <repo>/node_modules/.cache/spoke-kube-apiserver.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The kube-apiserver version the e2e suite proves. */
export const KUBE_VERSION = 'v1.34.4';

function cacheRoot(): string {
  if (process.env.SPOKE_KUBE_CACHE) return resolve(process.env.SPOKE_KUBE_CACHE);
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'spoke-kube-apiserver');
  return resolve(here, '../../node_modules/.cache/spoke-kube-apiserver');
}

/** Where the binary lives once built. */
export function kubeApiserverPath(): string {
  return join(cacheRoot(), KUBE_VERSION, 'kube-apiserver');
}

function go(args: string[], cwd: string, env: NodeJS.ProcessEnv): void {
  const r = spawnSync('go', args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) {
    throw new Error(
      `go ${args.join(' ')} failed (${r.error?.message ?? `exit ${String(r.status)}`}). Building kube-apiserver needs Go and the Go module proxy.`,
    );
  }
}

/** Builds (if needed); returns `{ path, built, seconds }`. */
export function ensureKubeApiserver(): { path: string; built: boolean; seconds: number } {
  const path = kubeApiserverPath();
  if (existsSync(path)) return { path, built: false, seconds: 0 };
  const started = Date.now();
  const log = (line: string): void => console.error(`[e2e] ${line} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  log(`building kube-apiserver ${KUBE_VERSION} from the Go module proxy; once per machine, about 5 minutes on 2 vCPUs`);
  const env = { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' };
  const work = mkdtempSync(join(tmpdir(), 'spoke-kube-build-'));
  try {
    writeFileSync(join(work, 'go.mod'), `module spoke.test/kubebuild\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes ${KUBE_VERSION}\n`);
    log('go mod download k8s.io/kubernetes');
    go(['mod', 'download', `k8s.io/kubernetes@${KUBE_VERSION}`], work, env);
    const goModFile = spawnSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${KUBE_VERSION}`], {
      cwd: work,
      env,
      encoding: 'utf8',
    });
    const upstreamMod = readFileSync((JSON.parse(goModFile.stdout) as { GoMod: string }).GoMod, 'utf8');
    const staging = [...upstreamMod.matchAll(/^\s*(k8s\.io\/[\w.-]+) => \.\/staging\//gm)].map((m) => m[1]);
    if (staging.length === 0) throw new Error(`no staging modules found in k8s.io/kubernetes@${KUBE_VERSION}'s go.mod`);
    const minor = KUBE_VERSION.replace(/^v1\./, 'v0.');
    writeFileSync(
      join(work, 'go.mod'),
      `module spoke.test/kubebuild\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes ${KUBE_VERSION}\n\nreplace (\n${staging.map((m) => `\t${m} => ${m} ${minor}`).join('\n')}\n)\n`,
    );
    writeFileSync(join(work, 'tools.go'), '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n');
    log(`resolving ${staging.length} staging modules at ${minor}`);
    go(['mod', 'tidy'], work, env);
    log('go build k8s.io/kubernetes/cmd/kube-apiserver');
    const tmpOut = `${path}.tmp-${process.pid}`;
    mkdirSync(dirname(path), { recursive: true });
    go(['build', '-trimpath', '-o', tmpOut, 'k8s.io/kubernetes/cmd/kube-apiserver'], work, env);
    renameSync(tmpOut, path);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  log('built');
  return { path, built: true, seconds };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = ensureKubeApiserver();
  console.log(`${r.built ? `built in ${r.seconds.toFixed(1)} s` : 'cached'}: ${r.path}`);
}
