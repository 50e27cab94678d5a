#!/usr/bin/env node
// `npm run test:pack`: what a user gets from npm. Builds the publishable packages, packs them with `npm pack`,
// installs the tarballs into a fresh project outside the workspace and uses them from there: an ESM program that
// dials a local echo server, require() of the ESM build (require(esm), Node >= 20.19), `tsc --strict` with
// nodenext and bundler resolution, and the `spoke` bin. The workspace resolves siblings through symlinks and the
// `@spoke/source` condition, so none of this is covered by the unit tests. Prints one line per check; exits 1 if
// any failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const PACKAGES = ['transport-core', 'hub', 'dialer-tls', 'dialer-ssh', 'dialer-konnectivity', 'cli'];
// The compliance suite imports vitest (an optional peer): it is for the backends' own test runs, not for apps.
const NEEDS_PEER = new Set(['@spoke/transport-core/testing']);
const tsc = join(root, 'node_modules', '.bin', 'tsc');

let failures = 0;
const ok = (what) => console.log(`ok    ${what}`);
const fail = (what, detail = '') => {
  failures++;
  console.log(`FAIL  ${what}${detail ? `\n${indent(detail)}` : ''}`);
};
const indent = (text) =>
  String(text)
    .trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');

/** Runs a command; a non-zero exit, a signal or the timeout is a failed check. */
function run(what, cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...options });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status === 0) ok(what);
  else fail(what, `${cmd} ${args.join(' ')} → ${r.error?.message ?? r.signal ?? `exit ${r.status}`}\n${output}`);
  return { passed: r.status === 0, stdout: r.stdout ?? '', output };
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every string in an `exports` map, whatever the nesting of conditions. */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

// 1. Build. tsc -b never deletes the output of a source file that moved or was removed, and npm pack would ship
//    it: outputs without a source are removed first, as a fresh clone would not have them.
const build = run('build (tsc -b of every publishable package)', tsc, ['-b', ...PACKAGES.map((p) => `packages/${p}/tsconfig.lib.json`)], {
  cwd: root,
});
if (!build.passed) process.exit(1);
let stale = 0;
for (const p of PACKAGES) {
  const pkgDir = join(root, 'packages', p);
  for (const file of walk(join(pkgDir, 'dist'))) {
    const stem = relative(join(pkgDir, 'dist'), file).replace(/(\.d)?\.js(\.map)?$|\.d\.ts(\.map)?$/, '');
    if (!existsSync(join(pkgDir, 'src', `${stem}.ts`))) {
      unlinkSync(file);
      stale++;
    }
  }
}
ok(`dist/ holds only outputs of current sources (${stale} stale file(s) removed)`);

// 2. Pack, into a directory outside the workspace.
const work = mkdtempSync(join(tmpdir(), 'spoke-pack-test-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
const packed = run(
  'npm pack of every publishable package',
  'npm',
  ['pack', '--json', '--pack-destination', tarballs, ...PACKAGES.flatMap((p) => ['-w', `packages/${p}`])],
  { cwd: root, env: { ...process.env, npm_config_loglevel: 'error' } },
);
if (!packed.passed) finish();
const packs = JSON.parse(packed.stdout);
for (const pack of packs) {
  const files = pack.files.map((f) => f.path);
  const unwanted = files.filter((f) => /\.tsbuildinfo$|\.spec\.ts$|(^|\/)test\//.test(f));
  const missing = ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'].filter((f) => !files.includes(f));
  if (unwanted.length > 0 || missing.length > 0)
    fail(`${pack.name}: tarball contents`, `unwanted: ${unwanted.join(' ')}\nmissing: ${missing.join(' ')}`);
  else ok(`${pack.name}: tarball of ${files.length} files, ${(pack.size / 1024).toFixed(0)} KiB (no tsbuildinfo, no tests)`);
}

// 3. A fresh project that knows the packages only by their tarballs. The overrides point the packages' own
//    `@spoke/*` dependencies at the tarballs too, so nothing of ours is fetched from a registry.
const app = join(work, 'app');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dependencies = Object.fromEntries(packs.map((p) => [p.name, `file:${join(tarballs, p.filename)}`]));
mkdirSync(app);
writeFileSync(
  join(app, 'package.json'),
  JSON.stringify(
    {
      name: 'spoke-pack-test-app',
      private: true,
      type: 'module',
      dependencies: { ...dependencies, '@types/node': rootPkg.devDependencies['@types/node'] },
      overrides: Object.fromEntries(packs.map((p) => [p.name, `$${p.name}`])),
    },
    null,
    2,
  ),
);
// --ignore-scripts: the install scripts of ssh2, cpu-features and bufferutil only build optional native speedups.
const installed = run(
  'npm install of the tarballs in a fresh project outside the workspace',
  'npm',
  ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'],
  { cwd: app },
);
if (!installed.passed) finish();

// Every public entry point, from the installed package.json files.
const entries = [];
for (const pack of packs) {
  const dir = join(app, 'node_modules', pack.name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const broken = exportTargets(manifest.exports).filter((t) => !existsSync(join(dir, t)));
  for (const b of Object.values(manifest.bin ?? {})) if (!existsSync(join(dir, b))) broken.push(b);
  if (broken.length > 0) fail(`${pack.name}: export and bin targets exist`, broken.join('\n'));
  else ok(`${pack.name}: every export target exists (the @spoke/source condition included)`);
  for (const key of Object.keys(manifest.exports)) {
    if (key === './package.json') continue;
    const specifier = key === '.' ? pack.name : `${pack.name}/${key.slice(2)}`;
    if (!NEEDS_PEER.has(specifier)) entries.push(specifier);
  }
  // Source maps and declaration maps must point at files that were published.
  const unresolved = [];
  for (const map of walk(dir).filter((f) => f.endsWith('.map'))) {
    const { sources = [], sourceRoot = '' } = JSON.parse(readFileSync(map, 'utf8'));
    for (const s of sources) if (!existsSync(resolve(dirname(map), sourceRoot, s))) unresolved.push(`${relative(dir, map)} → ${s}`);
  }
  if (unresolved.length > 0) fail(`${pack.name}: source maps resolve`, unresolved.slice(0, 10).join('\n'));
  else ok(`${pack.name}: every source map and declaration map resolves`);
}

// 4a. ESM: every entry point imports, and the net dialer reaches a local echo server under an AbortSignal.
writeFileSync(
  join(app, 'esm-check.mjs'),
  `import net from 'node:net';
import { once } from 'node:events';
const entries = ${JSON.stringify(entries)};
for (const e of entries) {
  const m = await import(e);
  if (Object.keys(m).length === 0) throw new Error(e + ' exports nothing');
}
const { createNetDialer, isAbortError } = await import('@spoke/transport-core');
const server = net.createServer((s) => s.pipe(s));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const dialer = createNetDialer();
const target = '127.0.0.1:' + server.address().port;
const socket = await dialer.dial(target, { signal: AbortSignal.timeout(5000) });
socket.end('ping');
const chunks = [];
for await (const chunk of socket) chunks.push(chunk);
if (Buffer.concat(chunks).toString() !== 'ping') throw new Error('echo mismatch: ' + Buffer.concat(chunks));
const aborted = await dialer.dial(target, { signal: AbortSignal.abort() }).then(() => null, (err) => err);
if (!isAbortError(aborted)) throw new Error('an aborted dial did not reject with an AbortError: ' + aborted);
await dialer.close();
server.close();
console.log(entries.length + ' entry points imported; echo through createNetDialer; aborted dial rejected');
`,
);
const esm = run('ESM: import every entry point, dial a local echo server with an AbortSignal', 'node', ['esm-check.mjs'], {
  cwd: app,
  timeout: 30_000,
});
if (esm.passed) console.log(indent(esm.stdout));

// 4b. CommonJS: require() of the ESM build.
writeFileSync(
  join(app, 'cjs-check.cjs'),
  `const entries = ${JSON.stringify(entries)};
for (const e of entries) {
  const m = require(e);
  if (Object.keys(m).length === 0) throw new Error(e + ' exports nothing');
}
const { createNetDialer } = require('@spoke/transport-core');
if (typeof createNetDialer !== 'function') throw new Error('createNetDialer is not a function');
console.log(entries.length + ' entry points required');
`,
);
const cjs = run(
  'CommonJS: require() every entry point (require(esm))',
  'node',
  ['--disable-warning=ExperimentalWarning', 'cjs-check.cjs'],
  {
    cwd: app,
    timeout: 30_000,
  },
);
if (cjs.passed) console.log(indent(cjs.stdout));

// 4c. TypeScript: every public name of every entry point, strict, with the library's .d.ts files checked too
//     (skipLibCheck off: a .d.ts importing a package without types fails here).
const ts = createRequire(join(root, 'package.json'))('typescript');
const probe = join(app, 'probe.ts');
writeFileSync(probe, entries.map((e, i) => `import * as p${i} from '${e}';`).join('\n') + '\n');
const probeProgram = ts.createProgram([probe], {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  noEmit: true,
  types: ['node'],
});
const checker = probeProgram.getTypeChecker();
const imports = probeProgram.getSourceFile(probe).statements.map((statement, i) => {
  const symbol = checker.getSymbolAtLocation(statement.moduleSpecifier);
  const names = symbol ? checker.getExportsOfModule(symbol).map((s) => s.name) : [];
  return `import { ${names.map((n) => `${n} as p${i}_${n}`).join(', ')} } from '${entries[i]}';`;
});
rmSync(probe);
const names = imports.reduce((n, line) => n + line.split(' as ').length - 1, 0);
writeFileSync(
  join(app, 'check.ts'),
  `${imports.join('\n')}
import { createNetDialer, isSpokeError, type Dialer } from '@spoke/transport-core';

export async function roundTrip(target: string, signal: AbortSignal): Promise<Buffer> {
  const dialer: Dialer = createNetDialer({ noDelay: true });
  try {
    const socket = await dialer.dial(target, { signal });
    socket.end('ping');
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch (err) {
    if (isSpokeError(err)) throw new Error(err.code);
    throw err;
  } finally {
    await dialer.close();
  }
}
`,
);
const common = { target: 'es2022', lib: ['es2023'], strict: true, noEmit: true, skipLibCheck: false, types: ['node'] };
for (const [name, options] of [
  ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }],
  ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
]) {
  writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions: { ...common, ...options }, files: ['check.ts'] }));
  run(
    `TypeScript --strict, ${name} resolution: ${names} public names of ${entries.length} entry points`,
    tsc,
    ['-p', `tsconfig.${name}.json`],
    {
      cwd: app,
    },
  );
}

// 4d. The bin, as npm links it.
const cli = packs.find((p) => p.name === '@spoke/cli');
const version = run('spoke --version from the installed bin', join(app, 'node_modules', '.bin', 'spoke'), ['--version'], {
  cwd: app,
  timeout: 30_000,
});
if (version.passed && version.stdout.trim() !== `spoke ${cli.version}`) fail('spoke --version prints the package version', version.stdout);

finish();

function finish() {
  if (process.env.SPOKE_PACK_TEST_KEEP) console.log(`kept ${work}`);
  else if (statSync(work, { throwIfNoEntry: false })) rmSync(work, { recursive: true, force: true });
  console.log(failures === 0 ? '\npack test: all checks passed' : `\npack test: ${failures} check(s) failed`);
  process.exit(failures === 0 ? 0 : 1);
}
