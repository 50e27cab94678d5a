import { mergeConfig } from 'vitest/config';
import { spokeVitestConfig } from '../../vitest.shared.js';

// The interop tests drive the node with client-go; global setup builds that
// Go client once (cached per source hash) before any test file starts.
export default mergeConfig(spokeVitestConfig(import.meta.dirname), {
  test: { globalSetup: ['./test/global-setup.ts'] },
});
