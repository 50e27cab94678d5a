// Makes a stand-in for node:20-slim without a container registry: a minimal Debian
// bookworm root filesystem from Debian's mirror (debootstrap --variant=minbase), this
// machine's Node 20 and npm copied to /usr/local as the official image has them, imported
// into podman's store. Cached there, per Node version: one build per machine (1 to
// 3.5 minutes, mostly debootstrap).
//
//   node deploy/tools/base-image.mjs     (prints the image name)
//
// Needs root, debootstrap and podman (Debian packages), and Node 20 on this machine.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Debian release node:20-slim is built on. */
const SUITE = 'bookworm';
const MIRROR = process.env.SPOKE_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

/** The image name for this machine's Node version. */
export function baseImageName() {
  return `localhost/spoke-node-base:${process.versions.node}`;
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', ...options });
  if (r.error || r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  return r;
}

/** Builds the base image (if podman does not have it yet); returns `{ image, built, seconds }`. */
export function ensureBaseImage() {
  const image = baseImageName();
  if (spawnSync('podman', ['image', 'exists', image]).status === 0) return { image, built: false, seconds: 0 };
  const started = Date.now();
  const log = (line) => console.error(`[deploy] ${line} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  log(
    `making ${image}: debootstrap ${SUITE} from ${MIRROR} and this machine's Node ${process.version}; once per machine, 1 to 3.5 minutes`,
  );
  const work = mkdtempSync(join(tmpdir(), 'spoke-base-image-'));
  const root = join(work, 'rootfs');
  try {
    run('debootstrap', ['--variant=minbase', SUITE, root, MIRROR]);
    log('debootstrap done; adding node and npm');
    const node = realpathSync(process.execPath);
    // npm ships beside node: <prefix>/lib/node_modules/npm.
    const npm = join(dirname(dirname(node)), 'lib', 'node_modules', 'npm');
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    mkdirSync(join(root, 'usr/local/lib/node_modules'), { recursive: true });
    cpSync(node, join(root, 'usr/local/bin/node'));
    cpSync(npm, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
    rmSync(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
    rmSync(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
    const tar = join(work, 'rootfs.tar');
    run('tar', ['-C', root, '-cf', tar, '.']);
    run('podman', [
      'import',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'CMD ["node"]',
      tar,
      image,
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  log(`imported ${image}`);
  return { image, built: true, seconds };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = ensureBaseImage();
  console.log(`${r.built ? `built in ${r.seconds.toFixed(1)} s` : 'cached'}: ${r.image}`);
}
