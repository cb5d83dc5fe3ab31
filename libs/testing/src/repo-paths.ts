import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, found from this file whether it runs from src (vitest) or dist. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (nx.json) above ' + __dirname);
    dir = parent;
  }
  return dir;
}

/** The built `tollgate` CLI entry; tests run the real command, as a user would. */
export function cliBin(): string {
  return join(repoRoot(), 'apps', 'cli', 'bin', 'tollgate.js');
}
