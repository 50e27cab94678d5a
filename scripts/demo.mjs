#!/usr/bin/env node
// `npm run demo [-- --once]`: runs apps/demo from its TypeScript sources (no build step).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const child = spawn(
  process.execPath,
  [
    '--conditions=@spoke/source',
    '--import',
    join(root, 'scripts', 'ts-register.mjs'),
    join(root, 'apps', 'demo', 'src', 'main.ts'),
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit', cwd: root },
);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
