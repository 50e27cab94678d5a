import { mergeConfig } from 'vitest/config';
import { spokeVitestConfig } from '../vitest.shared.js';

// helm and kube-apiserver are built from the Go module proxy once per machine (cached); global setup does it before
// any test file starts, outside test timeouts. Files run one at a time: the image build and kube-apiserver are heavy
// for this 2-vCPU machine kind.
export default mergeConfig(spokeVitestConfig(import.meta.dirname), {
  test: { globalSetup: ['./test/global-setup.ts'], fileParallelism: false },
});
