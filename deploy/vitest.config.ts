import { mergeConfig } from 'vitest/config';
import { spokeVitestConfig } from '../vitest.shared.js';

// helm is built from the Go module proxy once per machine (cached); global setup does it before any test
// file starts, outside test timeouts.
export default mergeConfig(spokeVitestConfig(import.meta.dirname), {
  test: { globalSetup: ['./test/global-setup.ts'] },
});
