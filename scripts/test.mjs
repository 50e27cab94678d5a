#!/usr/bin/env node
// `npm test`: the test peers (installed if missing), the formatter check, the project-reference sync check, then build, typecheck, lint and
// every test of every project, never from cache; ends with one plain line
// "N passed, N failed, N skipped" summed from vitest's JSON reports, and fails
// when any step failed, any test failed or was skipped, or no test ran.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const results = join(root, '.nx', 'test-results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', SPOKE_TEST_RESULTS: results };
const nx = (args) => {
  console.log(`\n$ nx ${args.join(' ')}`);
  return spawnSync('npx', ['nx', ...args], { cwd: root, env, stdio: 'inherit' }).status ?? 1;
};

// The real peers the tests run (sshd, protoc, curl, ...): installed when missing and possible, else a clear stop.
console.log('\n$ node scripts/peers.mjs');
if ((spawnSync(process.execPath, [join(root, 'scripts', 'peers.mjs')], { cwd: root, env, stdio: 'inherit' }).status ?? 1) !== 0)
  process.exit(1);

// The formatter first: a tree that is not formatted fails like a failing test.
console.log('\n$ prettier --check .');
const formatted = spawnSync('npx', ['prettier', '--check', '--log-level=warn', '.'], { cwd: root, env, stdio: 'inherit' }).status ?? 1;

// Generated protobuf code matches the .proto files (protoc is one of the peers).
console.log('\n$ npm run check-generated -w @spoke/dialer-konnectivity');
const generated =
  spawnSync('npm', ['run', '--silent', 'check-generated', '-w', '@spoke/dialer-konnectivity'], { cwd: root, env, stdio: 'inherit' })
    .status ?? 1;

const steps = [
  ['sync:check'],
  ['run-many', '-t', 'build', 'typecheck', 'lint', '--skip-nx-cache', '--outputStyle=static'],
  ['run-many', '-t', 'test', '--skip-nx-cache', '--outputStyle=static', '--parallel=1'],
];
let failedSteps = (formatted === 0 ? 0 : 1) + (generated === 0 ? 0 : 1);
for (const step of steps) if (nx(step) !== 0) failedSteps++;
// The packages as users get them: npm pack, install into a fresh project, import/require/tsc/bin there.
console.log('\n$ node scripts/pack-test.mjs');
if ((spawnSync('node', [join(root, 'scripts', 'pack-test.mjs')], { cwd: root, env, stdio: 'inherit' }).status ?? 1) !== 0) failedSteps++;
// The docs: the API reference builds from the TSDoc without a warning, and every ```ts block of the READMEs compiles.
for (const [command, ...args] of [
  ['npx', 'typedoc'],
  ['node', join(root, 'scripts', 'check-readme-code.mjs')],
]) {
  console.log(`\n$ ${[command, ...args].join(' ')}`);
  if ((spawnSync(command, args, { cwd: root, env, stdio: 'inherit' }).status ?? 1) !== 0) failedSteps++;
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of readdirSync(results)) {
  const r = JSON.parse(readFileSync(join(results, file), 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if ((r.numFailedTestSuites ?? 0) > 0 && (r.numFailedTests ?? 0) === 0) failed += r.numFailedTestSuites;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failedSteps > 0) console.error(`${failedSteps} step(s) failed (see above).`);
if (passed === 0) console.error('No test ran: that is a failure, not a pass.');
if (skipped > 0) console.error('Skipped or todo tests are not allowed: every test must run.');
process.exit(failedSteps > 0 || failed > 0 || passed === 0 || skipped > 0 ? 1 : 0);
