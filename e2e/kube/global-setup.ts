import { ensureKubeApiserver, KUBE_VERSION } from './build-kube-apiserver.js';

/** Builds (or finds cached) kube-apiserver before any test file starts. */
export default function setup(): void {
  const r = ensureKubeApiserver();
  if (r.built) console.log(`[e2e] built kube-apiserver ${KUBE_VERSION} in ${r.seconds.toFixed(1)} s → ${r.path}`);
}
