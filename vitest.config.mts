import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC (not esbuild) transpiles tests so NestJS gets decorator metadata for dependency injection.
// The "@tollgate/source" condition makes workspace imports resolve to TypeScript sources.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: { conditions: ['@tollgate/source'] },
  ssr: { resolve: { conditions: ['@tollgate/source'] } },
  test: {
    include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'test/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time on the 2-core CI machine: most e2e time is spent waiting on the
    // processes a test starts (gateway, agent, servers), so two overlap well (measured: the suite
    // took 400 s with two workers on a machine that had just been at load 14, against ~1,100 s
    // with one on a busy one; CI with one took 1,196 s end to end).
    maxWorkers: 2,
    globalSetup: ['./test/global-setup.mts'],
    reporters: ['default', './test/summary-reporter.mts'],
  },
});
