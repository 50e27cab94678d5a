import { basename, join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * One vitest configuration for every project: tests run on TypeScript sources
 * (the `@spoke/source` export condition) so no build is needed between edits,
 * and never in watch mode (Nx's inferred target runs plain `vitest`).
 */
export function spokeVitestConfig(root: string) {
  return defineConfig({
    root,
    resolve: { conditions: ['@spoke/source'] },
    ssr: { resolve: { conditions: ['@spoke/source'] } },
    test: {
      watch: false,
      environment: 'node',
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      testTimeout: 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
      // scripts/test.mjs sets SPOKE_TEST_RESULTS to a folder and sums the JSON reports into one plain line.
      reporters: process.env.SPOKE_TEST_RESULTS
        ? ['default', ['json', { outputFile: join(process.env.SPOKE_TEST_RESULTS, `${basename(root)}.json`) }]]
        : ['default'],
    },
  });
}
