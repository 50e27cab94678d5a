// Module hooks that let Node 20 run the workspace's TypeScript sources directly:
// './x.js' specifiers fall back to './x.ts', and '.ts' files are transpiled
// (types erased, nothing checked: `npm test` typechecks). Used by `npm run demo`,
// spawned-CLI tests, ProxyCommand tests and the benchmarks (scripts/ts-register.mjs).
// Output is cached by content hash under node_modules/.cache/spoke-ts, and the
// compiler is loaded only on a miss: most of a cold start is loading TypeScript.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cacheDir = fileURLToPath(new URL('../node_modules/.cache/spoke-ts/', import.meta.url));
mkdirSync(cacheDir, { recursive: true });
let compiler;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const relative =
      specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/') || specifier.startsWith('file:');
    if (!relative || !specifier.endsWith('.js')) throw err;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts') || url.includes('/node_modules/')) return next(url, context);
  const file = fileURLToPath(url);
  const source = await readFile(file, 'utf8');
  const cached = join(cacheDir, `${createHash('sha256').update(file).update('\0').update(source).digest('hex')}.js`);
  try {
    return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true };
  } catch {
    // first time this version of the file is loaded
  }
  compiler ??= (await import('typescript')).default;
  const { outputText } = compiler.transpileModule(source, {
    fileName: file,
    compilerOptions: {
      module: compiler.ModuleKind.ESNext,
      target: compiler.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  const temp = `${cached}.${process.pid}.tmp`;
  await writeFile(temp, outputText);
  await rename(temp, cached);
  return { format: 'module', source: outputText, shortCircuit: true };
}
