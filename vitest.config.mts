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
    // Two test files at a time (2 cores): the suite takes ~12 minutes instead of ~17, which keeps CI
    // under 20. Tests with timing bounds (agent-instances' liveness window) carry margin for a file
    // running beside them; an earlier two-worker run missed that bound once before it had any.
    maxWorkers: 2,
    globalSetup: ['./test/global-setup.mts'],
    reporters: ['default', './test/summary-reporter.mts'],
  },
});
