import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join, resolve, sep } from 'node:path';
import { processEnvironment } from '@tollgate/config';

export interface InstalledCommand {
  /** How to run the CLI from a shell here: `tollgate`, or `npx tollgate` inside the repository. */
  readonly command: string;
  /** How to put it on the PATH, when it is not there yet. */
  readonly hint?: string;
}

/**
 * The command a banner or a message should tell people to run: `tollgate` when it is on the PATH
 * (npm's own node_modules/.bin, which only `npm run` adds, does not count), else `npx tollgate`
 * with the one command that installs it.
 */
export function installedCommand(env = processEnvironment()): InstalledCommand {
  const onPath = (env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => dir && !dir.includes(`${sep}node_modules${sep}.bin`))
    .some((dir) => isExecutable(join(dir, 'tollgate')));
  if (onPath) return { command: 'tollgate' };
  const repository = resolve(__dirname, '..', '..', '..');
  if (!existsSync(join(repository, 'apps', 'cli', 'package.json'))) return { command: 'tollgate' };
  return {
    command: 'npx tollgate',
    hint: `npm install -g ./apps/cli   (in ${repository}) puts tollgate on the PATH`,
  };
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
