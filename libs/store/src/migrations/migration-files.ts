import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MigrationFile {
  /** The folder name, e.g. `20261125173503_init`; it is what `_prisma_migrations` records. */
  readonly name: string;
  readonly sql: string;
  /** sha256 hex of the file's bytes, as Prisma computes it. */
  readonly checksum: string;
}

/** Reads `<dir>/*\/migration.sql` in folder-name order (the timestamp prefix makes it chronological). */
export async function readMigrationFiles(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const folders = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    folders.map(async (name) => {
      const bytes = await readFile(join(migrationsDir, name, 'migration.sql'));
      return {
        name,
        sql: bytes.toString('utf8'),
        checksum: createHash('sha256').update(bytes).digest('hex'),
      };
    }),
  );
}
