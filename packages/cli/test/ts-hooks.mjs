// Module hooks that let plain Node 20 run this package's TypeScript sources for
// the spawned-CLI tests: '.js' specifiers fall back to the '.ts' file next to
// them, and '.ts' files are transpiled (types erased, nothing checked: the
// typecheck target does that). Output is cached on disk by content hash, and
// TypeScript itself is only loaded on a cache miss: tests spawn the CLI many
// times and most of a cold start is loading the compiler.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Inside the package's (git-ignored) node_modules, so nothing is left in /tmp.
const cacheDir = fileURLToPath(new URL('../node_modules/.cache/spoke-ts/', import.meta.url));
mkdirSync(cacheDir, { recursive: true });
let compiler;

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/') || specifier.startsWith('file:');
    if (!relative || !specifier.endsWith('.js')) throw err;
    return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const source = await readFile(file, 'utf8');
  const key = createHash('sha256').update(file).update('\0').update(source).digest('hex');
  const cached = join(cacheDir, `${key}.js`);
  try {
    return { format: 'module', source: await readFile(cached, 'utf8'), shortCircuit: true };
  } catch {
    // not cached yet
  }
  compiler ??= (await import('typescript')).default;
  const { outputText } = compiler.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: compiler.ModuleKind.ESNext, target: compiler.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  const temp = `${cached}.${process.pid}.tmp`;
  await writeFile(temp, outputText);
  await rename(temp, cached);
  return { format: 'module', source: outputText, shortCircuit: true };
}
