/**
 * `npm run bench` (root) → `nx run @spoke/bench:bench` → this file, run from
 * source: node --conditions=@spoke/source --import ../scripts/ts-register.mjs src/main.ts
 *
 *   --only ws,codec      suites or rows: ws (= bulk,parallel,dial,memory,rtt), codec, ssh, konnectivity, user, peers (only when named)
 *   --quick              small sizes, one repetition
 *   --bytes MiB          bulk size (default 256)
 *   --reps N             repetitions of each bulk comparison (default 3)
 *   --cpu-prof DIR       write a CPU profile of every child process into DIR
 *   --json FILE          also write the results as JSON
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultOptions } from './options.js';
import { childSettings } from './proc.js';
import { goalMet, renderSection, type Section } from './report.js';
import { runCodecSuite } from './suites/codec.js';
import { runKonnectivitySuite } from './suites/konnectivity.js';
import { runSshSuite } from './suites/ssh.js';
import { runUserPathSuite } from './suites/user-path.js';
import { runPeersSuite } from './suites/peers.js';
import { SPOKE_ROWS, runSpokeSuite, type SpokeRow } from './suites/spoke.js';

const SUITES = ['ws', ...SPOKE_ROWS, 'codec', 'ssh', 'konnectivity', 'user', 'peers'] as const;

function usage(message: string): never {
  console.error(
    `${message}\nusage: npm run bench -- [--only ${SUITES.join(',')}] [--quick] [--bytes MiB] [--reps N] [--cpu-prof DIR] [--json FILE]`,
  );
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        only: { type: 'string' },
        quick: { type: 'boolean', default: false },
        bytes: { type: 'string' },
        reps: { type: 'string' },
        'cpu-prof': { type: 'string' },
        json: { type: 'string' },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
})();

const options = defaultOptions(values.quick ?? false);
if (values.bytes !== undefined) options.bytes = Number(values.bytes) * 1024 * 1024;
if (values.reps !== undefined) options.reps = Number(values.reps);
if (!(options.bytes >= 1024 * 1024) || !(Number.isInteger(options.reps) && options.reps >= 1))
  usage('--bytes needs a number of MiB ≥ 1 and --reps an integer ≥ 1');
if (values['cpu-prof'] !== undefined) {
  childSettings.cpuProfDir = resolve(values['cpu-prof']);
  mkdirSync(childSettings.cpuProfDir, { recursive: true });
}

// `--only a,b` and positional names (`npm run bench -- codec`) both select.
const wanted = [...(values.only?.split(',') ?? []), ...positionals].map((s) => s.trim()).filter((s) => s !== '');
for (const w of wanted) if (!(SUITES as readonly string[]).includes(w)) usage(`unknown suite "${w}"`);
const all = wanted.length === 0;
const has = (name: string): boolean => all || wanted.includes(name);
const spokeRows = new Set<SpokeRow>(SPOKE_ROWS.filter((r) => has('ws') || has(r)));

const started = Date.now();
const sections: Section[] = [];
const print = (s: Section[]): void => {
  for (const section of s) console.log(`\n${renderSection(section)}`);
  sections.push(...s);
};

console.log(
  `spoke bench ${new Date().toISOString()} — Node ${process.version}, ${os.cpus().length} vCPU (${os.cpus()[0]?.model ?? 'unknown'}), ${options.quick ? 'quick' : 'full'} run`,
);
// The micro-benchmark runs first, on a fresh heap (the macro suites leave garbage behind in this process).
if (has('codec')) print(runCodecSuite(options));
if (spokeRows.size > 0) print(await runSpokeSuite(options, spokeRows));
if (has('ssh')) print(await runSshSuite(options));
if (has('konnectivity')) print(await runKonnectivitySuite(options));
if (has('user')) print(await runUserPathSuite(options));
// Not part of a plain `npm run bench`: it builds Go and Rust programs first (`npm run bench:peers`).
if (wanted.includes('peers')) print(await runPeersSuite(options));

const missed = sections.flatMap((s) =>
  s.rows.filter((r) => goalMet(r) === false).map((r) => `${r.name}: ×${r.ratio.toFixed(2)} (goal ${r.goal?.op} ${r.goal?.value})`),
);
console.log(
  `\nfinished in ${((Date.now() - started) / 1000).toFixed(0)} s; ${missed.length === 0 ? 'every goal met' : `goals missed:\n  ${missed.join('\n  ')}`}`,
);
if (values.json !== undefined)
  writeFileSync(
    values.json,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, options, sections }, null, 2),
  );
