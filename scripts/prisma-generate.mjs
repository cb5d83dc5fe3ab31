// Prisma's CLI wants a schema engine binary even for `generate`, which needs none; the real one
// is downloaded from a host these machines cannot reach. A stub that always fails satisfies the
// check: `generate` never calls it.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = join(tmpdir(), 'tollgate-prisma-stub');
mkdirSync(dir, { recursive: true });
const stub = join(dir, 'schema-engine');
writeFileSync(stub, '#!/bin/sh\necho "schema engine not available offline" >&2\nexit 1\n');
chmodSync(stub, 0o755);

execFileSync(
  process.execPath,
  ['node_modules/prisma/build/index.js', 'generate', '--schema', 'prisma/schema.prisma'],
  {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: stub,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
  },
);
