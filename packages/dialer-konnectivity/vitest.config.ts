import { mergeConfig } from 'vitest/config';
import { spokeVitestConfig } from '../../vitest.shared.js';

// The interop tests need upstream's Go binaries; global setup builds them once
// (cached per version) before any test file starts, outside test timeouts.
export default mergeConfig(spokeVitestConfig(import.meta.dirname), {
  test: { globalSetup: ['./test/upstream/global-setup.ts'] },
});
