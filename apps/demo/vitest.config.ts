import { mergeConfig } from 'vitest/config';
import { spokeVitestConfig } from '../../vitest.shared.js';

// `npm run demo -- --kube-apiserver` is tested too: global setup builds the real kube-apiserver
// once per machine (cached by @spoke/e2e) before any test file starts, outside test timeouts.
export default mergeConfig(spokeVitestConfig(import.meta.dirname), {
  test: { globalSetup: ['./test/kube-apiserver-setup.ts'] },
});
