import { existsSync } from 'node:fs';
import { ensureKubeApiserver, KUBE_VERSION } from '@spoke/e2e/kube';
import { ensureHelm } from '../tools/build-helm.mjs';
import { CLI_MAIN } from './cli.js';

/**
 * Builds (or finds cached) the pinned helm and the e2e suite's kube-apiserver, and checks the CLI the flag tests run
 * is built.
 */
export default function setup(): void {
  const helm = ensureHelm();
  if (helm.built) console.log(`[deploy] built helm in ${helm.seconds.toFixed(1)} s → ${helm.path}`);
  const kube = ensureKubeApiserver();
  if (kube.built) console.log(`[deploy] built kube-apiserver ${KUBE_VERSION} in ${kube.seconds.toFixed(1)} s → ${kube.path}`);
  // `nx run @spoke/deploy:test` builds the CLI first (an implicit dependency); a bare `vitest run` may not have.
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run npx nx run @spoke/cli:build first.`);
}
