import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'libs/store/src/generated/**',
      'libs/proto/src/generated/**',
      'coverage/**',
      '**/*.mjs',
      '**/*.js',
      'vitest.config.mts',
      '**/*.mts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    // Boundaries: protocol and policy libraries import neither Nest nor Prisma; the agent never
    // imports the store; libs/proto is a leaf.
    files: [
      'libs/protocols/**/*.ts',
      'libs/policy/**/*.ts',
      'libs/audit/**/*.ts',
      'libs/proto/**/*.ts',
      'libs/config/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/*', '@prisma/*', '@tollgate/store'],
              message: 'pure libraries import neither Nest nor Prisma',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/agent/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@prisma/*', '@tollgate/store', '@tollgate/gateway'],
              message: 'the agent never imports the database layer',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/unbound-method': 'off' },
  },
);
