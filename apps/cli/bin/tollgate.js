#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('tollgate: the CLI is not built yet; run `npm run build` in the repository root\n');
  process.exit(1);
}
require(entry);
