import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The CLI's version, from its package.json (src and dist sit at the same depth). */
export const CLI_VERSION: string = (
  JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;
