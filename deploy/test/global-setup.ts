import { existsSync } from 'node:fs';
import { ensureHelm } from '../tools/build-helm.mjs';
import { CLI_MAIN } from './cli.js';

/** Builds (or finds cached) the pinned helm, and checks the CLI the flag tests run is built. */
export default function setup(): void {
  const r = ensureHelm();
  if (r.built) console.log(`[deploy] built helm in ${r.seconds.toFixed(1)} s → ${r.path}`);
  // `nx run @spoke/deploy:test` builds the CLI first (an implicit dependency); a bare `vitest run` may not have.
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run npx nx run @spoke/cli:build first.`);
}
