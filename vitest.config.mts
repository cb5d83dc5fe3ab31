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
    // One test file at a time. Two (maxWorkers 2) ran the suite in ~400 s instead of ~15 min here,
    // but under that load agent-instances' hung-holder test (SIGSTOP of the agent holding the
    // stream; the next instance must get in within the liveness window) failed in 2 of 4 runs:
    // until that is understood, CI runs files one by one.
    maxWorkers: 1,
    globalSetup: ['./test/global-setup.mts'],
    reporters: ['default', './test/summary-reporter.mts'],
  },
});
