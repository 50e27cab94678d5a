#!/usr/bin/env node
// Typechecks every ```ts code block of the workspace's READMEs (the root, packages/*, apps/*, bench,
// examples) and of docs/*.md, each as a module of its own, strict and `module: nodenext` like the
// packages, with @spoke/* resolved from TypeScript sources (the `@spoke/source` condition), so no build
// is needed. A block fenced as ```ts no-check is skipped: keep that for fragments that are deliberately
// not programs (a type's shape, one option), never to hide a block that should compile. A block that
// continues an earlier one declares what it reuses (`declare const options: ControlPlaneOptions;`).
// Errors point at README lines.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
// Inside the workspace (so @spoke/* resolve through node_modules) and git-ignored (.nx/).
const work = join(root, '.nx', 'readme-code');

const readmes = [
  'README.md',
  ...['packages', 'apps'].flatMap((dir) => readdirSync(join(root, dir)).map((name) => join(dir, name, 'README.md'))),
  join('bench', 'README.md'),
  join('examples', 'README.md'),
  ...(existsSync(join(root, 'docs')) ? readdirSync(join(root, 'docs')) : [])
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name)),
].filter((file) => existsSync(join(root, file)));

/** The ```ts blocks of one README: body, the README line of the body's first line, skipped or not. */
function blocks(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\b(.*)$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const end = lines.findIndex((line, j) => j > i && /^\s*```\s*$/.test(line));
    if (end < 0) throw new Error(`${file}:${i + 1}: a code block that never closes`);
    found.push({ body: lines.slice(i + 1, end).map((line) => line.slice(indent)), line: i + 2, skip: /\bno-check\b/.test(open[3]) });
    i = end;
  }
  return found;
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const origin = new Map(); // generated file name -> { file, line }
let skipped = 0;
for (const file of readmes) {
  for (const [n, block] of blocks(file).entries()) {
    if (block.skip) {
      skipped++;
      continue;
    }
    const name = `${file.replaceAll(/[/\\.]/g, '_')}_${n + 1}.ts`;
    // `export {}` keeps every block a module of its own (top-level await, no clashes between blocks).
    writeFileSync(join(work, name), `${block.body.join('\n')}\nexport {};\n`);
    origin.set(name, { file, line: block.line });
  }
}
writeFileSync(
  join(work, 'tsconfig.json'),
  JSON.stringify({
    extends: '../../tsconfig.base.json',
    compilerOptions: { noEmit: true, composite: false, incremental: false, declaration: false, declarationMap: false, sourceMap: false },
    include: ['*.ts'],
  }),
);

const tsc = spawnSync('npx', ['tsc', '-p', join(work, 'tsconfig.json'), '--pretty', 'false'], { cwd: root, encoding: 'utf8' });
// Only errors inside the blocks count, mapped from "name.ts(line,col): error ..." back to the README line.
// Errors in the packages' own sources are their typecheck's business (npm test runs it), not the READMEs'.
const errors = [];
for (const line of `${tsc.stdout}${tsc.stderr}`.split('\n')) {
  const m = /^(?:.*[/\\])?([^/\\\s(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
  const at = m && origin.get(m[1]);
  if (at) errors.push(`${at.file}:${at.line + Number(m[2]) - 1}:${m[3]}: ${m[4]}`);
}
if (tsc.status !== 0 && errors.length === 0 && !/error TS/.test(tsc.stdout)) console.error(`${tsc.stdout}${tsc.stderr}`);
for (const error of errors) console.error(error);
const failed = errors.length > 0 || (tsc.status !== 0 && !/error TS/.test(tsc.stdout));
console.log(
  `${origin.size} README code block(s) typechecked in ${relative(root, work)}, ${skipped} marked no-check: ${failed ? `${errors.length} error(s)` : 'all compile'}`,
);
process.exit(failed ? 1 : 0);
