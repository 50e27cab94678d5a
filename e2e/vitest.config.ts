import { mergeConfig } from 'vitest/config';
import { spokeVitestConfig } from '../vitest.shared.js';

// The suite needs the real kube-apiserver: global setup builds it once per
// machine (cached per version) before any test file starts, outside test
// timeouts. Each file starts its own etcd and kube-apiserver, so files run
// one at a time on this 2-vCPU machine kind.
export default mergeConfig(spokeVitestConfig(import.meta.dirname), {
  test: { globalSetup: ['./kube/global-setup.ts'], fileParallelism: false, testTimeout: 90_000, hookTimeout: 180_000 },
});
