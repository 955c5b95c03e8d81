// @ts-check
/**
 * Lint: type-aware rules that catch what the type checker does not — a promise nobody awaits or
 * handles (a lost write or a swallowed error), imports that should be type-only (erased at
 * build, so a module is not loaded for its types), and anything unused. Formatting is Prettier's.
 */
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', '**/dist/', 'coverage/', 'test-results/', 'playwright-report/', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
)
