import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import jsoncParser from 'jsonc-eslint-parser';
import tseslint from 'typescript-eslint';

const TS = ['**/*.ts', '**/*.mts'];
const TESTS = ['**/test/**/*.ts', '**/test/**/*.mts', '**/*.spec.ts'];

// Module boundaries between our projects (nx.tags in each package.json). transport-core depends on nothing of ours,
// a backend (hub, the dialers) only on core, apps (the CLI, apps/*, bench, examples) on anything. A package may import
// itself by name (its tests use the public entry points).
const OURS = ['scope:core', 'scope:backend', 'scope:app'];
const boundaries = (backendMayUse) => [
  'error',
  {
    allowCircularSelfDependency: true,
    // The CLI imports backends on use (no bundler splits chunks here: the point is what a process loads), and the
    // command modules that need one import it statically; they are themselves imported only when their command runs.
    checkDynamicDependenciesExceptions: ['@spoke/hub', '@spoke/dialer-ssh', '@spoke/dialer-tls', '@spoke/dialer-konnectivity'],
    depConstraints: [
      { sourceTag: 'scope:core', notDependOnLibsWithTags: OURS },
      { sourceTag: 'scope:backend', onlyDependOnLibsWithTags: backendMayUse },
      { sourceTag: 'scope:app', onlyDependOnLibsWithTags: OURS },
    ],
  },
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/out-tsc/**',
      '**/node_modules/**',
      '**/.nx/**',
      '**/src/gen/**',
      '**/vite.config.*.timestamp*',
      '**/vitest.config.*.timestamp*',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Type-aware rules (typescript-eslint's recommendedTypeChecked); the project service finds each file's tsconfig.
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({ ...config, files: TS })),
  {
    files: TS,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    // Vitest configs (and the shared one they call) belong to no tsconfig: they are one-line calls, linted
    // without type information rather than dragging them into every project's build. The same for the
    // declaration beside dialer-konnectivity's upstream build script.
    files: ['**/vitest.config.ts', 'vitest.shared.ts', '**/*.d.mts'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name=/^(only|skip|todo)$/]',
          message: 'Every test must run.',
        },
      ],
    },
  },
  {
    files: TS,
    plugins: { '@nx': nx },
    rules: { '@nx/enforce-module-boundaries': boundaries(['scope:core']) },
  },
  {
    // Tests may use a sibling backend as a peer (dialer-tls's tests run CONNECT through a real hub); it is a
    // devDependency there, never an import of src/.
    files: TESTS,
    rules: { '@nx/enforce-module-boundaries': boundaries(['scope:core', 'scope:backend']) },
  },
  {
    // Vitest configs import the workspace's vitest.shared.ts, which belongs to no project: tooling, not a module
    // edge between projects.
    files: ['**/vitest.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    // Each package's dependencies are what its shipped code imports: a missing one or an unused one fails lint.
    files: ['**/package.json'],
    languageOptions: { parser: jsoncParser },
    plugins: { '@nx': nx },
    rules: {
      '@nx/dependency-checks': [
        'error',
        {
          // Not imported, still needed by users: @types/ssh2 and @types/ws for the published declarations (they name
          // ssh2's and ws's types); bufferutil is ws's optional native masking, which ws loads itself.
          ignoredDependencies: ['@types/ssh2', '@types/ws', 'bufferutil'],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
  },
);
