// Builds the peer tunnels the `peers` bench suite runs beside spoke, at pinned versions:
// chisel and frp from the Go module proxy (`go mod download`, then `go build` in a writable
// copy of the module), rathole from crates.io (`cargo install`). wstunnel is left
// out: it is not published on crates.io and its source is not a Go module, so neither
// registry this machine may use has it (bench/README.md, "Peers").
// Binaries are cached per version, so only the first run pays for the builds; a tool whose
// toolchain (go, cargo) is missing is skipped and reported, never a failure of the others.
//
//   node bench/peers/build-peers.mjs        (prints one line per tool: name, status, path)
//
// Cache: $SPOKE_PEERS_CACHE, else $XDG_CACHE_HOME/spoke-bench-peers,
// else <repo>/node_modules/.cache/spoke-bench-peers.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The pinned peers: version and how each binary is made. */
export const PEERS = {
  chisel: { version: 'v1.12.1', toolchain: 'go', module: 'github.com/jpillora/chisel', builds: [['chisel', '.', []]] },
  frp: {
    version: 'v0.71.0',
    toolchain: 'go',
    module: 'github.com/fatedier/frp',
    // The dashboard's assets need an npm build; `noweb` leaves them out, as peers.md says.
    builds: [
      ['frps', './cmd/frps', ['-tags', 'frps,noweb']],
      ['frpc', './cmd/frpc', ['-tags', 'frpc,noweb']],
    ],
  },
  rathole: { version: '0.5.0', toolchain: 'cargo', crate: 'rathole', builds: [['rathole']] },
};

function cacheRoot() {
  if (process.env.SPOKE_PEERS_CACHE) return resolve(process.env.SPOKE_PEERS_CACHE);
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'spoke-bench-peers');
  return resolve(here, '../../node_modules/.cache/spoke-bench-peers');
}

function has(tool) {
  const r = spawnSync(tool, ['version'], { stdio: 'ignore' });
  return !r.error;
}

function run(cmd, args, opts) {
  console.error(`[bench peers]   ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8', ...opts });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
  return r.stdout;
}

function buildGo(spec, tmp) {
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' };
  const info = JSON.parse(run('go', ['mod', 'download', '-json', `${spec.module}@${spec.version}`], { env, capture: true }));
  // The module cache is read-only: build in a writable copy.
  const src = join(tmp, 'src');
  cpSync(info.Dir, src, { recursive: true });
  spawnSync('chmod', ['-R', 'u+w', src]);
  for (const [name, pkg, flags] of spec.builds) run('go', ['build', ...flags, '-o', join(tmp, name), pkg], { cwd: src, env });
  rmSync(src, { recursive: true, force: true });
}

function buildCargo(spec, tmp) {
  // Not --locked: rathole 0.5.0's lock file pins time 0.3.29, which current rustc no longer compiles
  // (E0282 in format_description); cargo picks the newest semver-compatible dependencies instead.
  run('cargo', ['install', spec.crate, '--version', spec.version, '--root', join(tmp, 'root')], {});
  for (const [name] of spec.builds) renameSync(join(tmp, 'root', 'bin', name), join(tmp, name));
  rmSync(join(tmp, 'root'), { recursive: true, force: true });
}

/**
 * Builds what is missing; returns `{ [tool]: { version, dir, bins: {name: path} } | { skipped: reason } }`.
 * Progress goes to stderr.
 */
export function ensurePeers(only = Object.keys(PEERS)) {
  const out = {};
  for (const tool of only) {
    const spec = PEERS[tool];
    const dir = join(cacheRoot(), `${tool}-${spec.version}`);
    const bins = Object.fromEntries(spec.builds.map(([name]) => [name, join(dir, name)]));
    if (Object.values(bins).every((p) => existsSync(p))) {
      out[tool] = { version: spec.version, dir, bins };
      continue;
    }
    if (!has(spec.toolchain)) {
      out[tool] = { skipped: `${spec.toolchain} not found` };
      continue;
    }
    console.error(`[bench peers] building ${tool} ${spec.version} with ${spec.toolchain}; once per machine, minutes on a cold cache`);
    const started = Date.now();
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      if (spec.toolchain === 'go') buildGo(spec, tmp);
      else buildCargo(spec, tmp);
      for (const p of Object.keys(bins)) chmodSync(join(tmp, p), 0o755);
      writeFileSync(join(tmp, 'BUILD_INFO'), `${tool} ${spec.version}, built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      out[tool] = { version: spec.version, dir, bins };
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      out[tool] = { skipped: err.message };
      console.error(`[bench peers] ${tool}: ${err.message}`);
    }
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [tool, r] of Object.entries(ensurePeers()))
    console.log(`${tool}\t${r.skipped ? `skipped: ${r.skipped}` : `${r.version}\t${r.dir}`}`);
}
