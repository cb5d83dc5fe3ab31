import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir, and a function that removes it. */
export function makeTempDir(prefix = 'tollgate-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * The environment variable naming an embedded store that the test run's global setup created once
 * with the product's own `openStore` (PGlite's initdb and every migration applied, then closed).
 */
export const PGLITE_TEMPLATE_ENV = 'TOLLGATE_TEST_PGLITE_TEMPLATE';

/**
 * A data directory for a gateway on the embedded store that has been through its first start
 * already: a copy of the run's template store. PGlite's initdb runs in WebAssembly and costs seconds
 * per fresh directory; tests about something else than the first start need not pay it each time.
 * The gateway still opens the store and checks its migrations as on any later start. Tests of the
 * first start itself (an empty directory) use `makeTempDir`. Without a template (a test file run on
 * its own outside the configured setup), the directory is simply empty.
 */
export function makeDataDir(prefix = 'tollgate-data-'): { path: string; remove: () => void } {
  const dir = makeTempDir(prefix);
  seedEmbeddedStore(dir.path);
  return dir;
}

/** Copies the run's template store into `path` (made if missing), as `makeDataDir` does; returns `path`. */
export function seedEmbeddedStore(path: string): string {
  const template = process.env[PGLITE_TEMPLATE_ENV];
  if (template) cpSync(template, path, { recursive: true });
  return path;
}
