import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.jest-cache/**',
      'jest.config.js',
      'eslint.config.mjs',
      'test/support/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { parserOptions: { sourceType: 'module' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // the library's own barrel is for users; code inside the library imports files directly
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['nestjs-sre', 'nestjs-sre/*'], message: 'inside libs/ import the file, not the package barrel' },
          ],
        },
      ],
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['bench/**/*.ts', 'test/peers/**/*.ts', 'src/main.ts'],
    rules: { 'no-console': 'off' },
  },
);
