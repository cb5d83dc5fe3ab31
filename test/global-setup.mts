import { openStore } from '@tollgate/store';
import { makeTempDir, PGLITE_TEMPLATE_ENV } from '../libs/testing/src/temp-dir';

/**
 * Runs once before the test files: makes the embedded-store template that `makeDataDir` copies (the
 * product's own store opening on an empty directory: PGlite's initdb and all migrations).
 */
export default async function setup(): Promise<() => void> {
  const template = makeTempDir('tollgate-pglite-template-');
  const store = await openStore({ dataDir: template.path, command: 'test template' });
  await store.close();
  process.env[PGLITE_TEMPLATE_ENV] = template.path;
  return () => template.remove();
}
