import { ensureKubeApiserver, KUBE_VERSION } from '@spoke/e2e/kube';

/** `--kube-apiserver` runs the real kube-apiserver: build it (once per machine, cached) before the tests. */
export default function setup(): void {
  const r = ensureKubeApiserver();
  if (r.built) console.log(`[demo] built kube-apiserver ${KUBE_VERSION} in ${r.seconds.toFixed(1)} s → ${r.path}`);
}
