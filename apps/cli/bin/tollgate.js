#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// In the repository, the build in dist/ (npm install -g ./apps/cli links here); in the published
// package, the bundle that `npm pack` made (dist/ is not packed).
const built = join(__dirname, '..', 'dist', 'main.js');
const bundled = join(__dirname, '..', 'bundle', 'tollgate.js');
if (existsSync(built)) require(built);
else if (existsSync(bundled)) require(bundled);
else {
  process.stderr.write('tollgate: the CLI is not built yet; run `npm run build` in the repository root\n');
  process.exit(1);
}
