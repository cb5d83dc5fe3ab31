import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dir';

/** Writes a Prisma migrations folder: `{ '001_a': 'CREATE TABLE ...' }` → `<dir>/001_a/migration.sql`. */
export function writeMigrationsFolder(
  migrations: Record<string, string>,
  dir = makeTempDir('migrations'),
): string {
  writeFileSync(join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  for (const [name, sql] of Object.entries(migrations)) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}
