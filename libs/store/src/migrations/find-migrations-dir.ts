import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Finds the repository's `prisma/migrations` by walking up from this file, which works from
 * `src/` under vitest, from `dist/` after a build, and from an install that keeps the folder
 * next to `libs/` (the Docker image copies it there).
 */
export function findMigrationsDir(startDir: string = __dirname): string {
  for (let dir = startDir; ;) {
    const candidate = join(dir, 'prisma', 'migrations');
    if (existsSync(join(candidate, 'migration_lock.toml'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`cannot find prisma/migrations/migration_lock.toml above ${startDir}`);
    dir = parent;
  }
}
