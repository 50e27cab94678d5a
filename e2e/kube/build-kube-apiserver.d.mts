/** The kube-apiserver version the e2e suite proves. */
export const KUBE_VERSION: string;
/** Where the binary lives once built. */
export function kubeApiserverPath(): string;
/** Builds kube-apiserver from the Go module proxy if it is not cached yet. */
export function ensureKubeApiserver(): { path: string; built: boolean; seconds: number };
