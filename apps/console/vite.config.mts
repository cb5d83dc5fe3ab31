import { defineConfig } from 'vite';

// The console is served by the gateway at `/` (same origin as the API; see
// apps/gateway/src/modules/console). `npm run dev -w @tollgate/console` proxies the API to a local
// gateway on TOLLGATE_URL (default http://127.0.0.1:8009).
const gateway = process.env.TOLLGATE_URL ?? 'http://127.0.0.1:8009';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // @tollgate/policy is bundled from its TypeScript sources: the editor validates with the same code
  // as the gateway.
  resolve: { conditions: ['@tollgate/source', 'browser', 'module', 'import', 'default'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // No inline scripts or data: modules, so the strict CSP (script-src 'self') holds.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/auth', '/oauth', '/.well-known'].map((path) => [path, { target: gateway }]),
    ),
  },
});
