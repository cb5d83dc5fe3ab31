// Makes apps/cli publishable: `npm pack` / `npm publish` run this as prepack (and with --clean as
// postpack). The CLI runs the gateway, the agent and the dev IdP in process, and those are private
// workspace packages (@tollgate/*), which a registry install cannot fetch. So:
//   - the workspace code, as tsc compiled it (decorator metadata included, which NestJS needs), is
//     bundled into bundle/tollgate.js; bin/tollgate.js runs it when dist/ (the repository's build)
//     is absent, as it is in the tarball;
//   - third-party packages stay outside the bundle as exact `dependencies` of apps/cli: Prisma's
//     runtime, PGlite's and libpg-query's wasm files, ssh2 and the rest load their own files, so they
//     are installed as themselves. The bundle's imports are checked against that list here, so the
//     package cannot be packed with a dependency missing, at another version than the repository
//     tests, or declared and unused;
//   - npm-shrinkwrap.json, the slice of the repository's package-lock.json those dependencies reach,
//     makes an install get exactly the tree the repository was tested with (and lets it install
//     from the npm cache alone);
//   - what the gateway reads from disk rides along: the built web console and the migrations.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(cliDir, '..', '..');
const bundleDir = join(cliDir, 'bundle');
const shrinkwrapFile = join(cliDir, 'npm-shrinkwrap.json');

/** Loaded by name at run time rather than imported: pino starts its transports by module name. */
const LOADED_BY_NAME = ['pino-pretty'];
/**
 * Third-party code bundled instead of installed: node-sql-parser's package is 89 MB (every dialect,
 * for every module system, with source maps) of which the MySQL classifier loads one 2.4 MB file.
 */
const BUNDLED = new Set(['node-sql-parser', 'big-integer' /* node-sql-parser's one dependency */]);

if (process.argv.includes('--clean')) {
  rmSync(bundleDir, { recursive: true, force: true });
  rmSync(shrinkwrapFile, { force: true });
  process.exit(0);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const fail = (message) => {
  process.stderr.write(`@tollgate/cli prepack: ${message}\n`);
  process.exit(1);
};

// The workspace's compiled code (incremental: quick, and writes nothing, when up to date).
rmSync(bundleDir, { recursive: true, force: true });
const bin = (name) => join(repoRoot, 'node_modules', '.bin', name);
execFileSync(bin('tsc'), ['-b', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
// The console, built straight into the package (apps/console/dist, which a running gateway of the
// repository may be serving, is left alone).
execFileSync(
  bin('vite'),
  [
    'build',
    '--config',
    join(repoRoot, 'apps', 'console', 'vite.config.mts'),
    '--outDir',
    join(bundleDir, 'console'),
    '--emptyOutDir',
    '--logLevel',
    'warn',
  ],
  { cwd: repoRoot, stdio: 'inherit' },
);
const { rolldown } = await import('rolldown');
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const imported = new Set();
const bundle = await rolldown({
  input: join(cliDir, 'dist', 'main.js'),
  platform: 'node',
  cwd: repoRoot,
  logLevel: 'warn',
  external: (id) => {
    if (id.startsWith('.') || id.startsWith('/') || id.startsWith('\0') || id.startsWith('@tollgate/')) {
      return false;
    }
    if (BUNDLED.has(packageName(id))) return false;
    if (!builtins.has(id)) imported.add(packageName(id));
    return true;
  },
});
await bundle.write({ file: join(bundleDir, 'tollgate.js'), format: 'cjs', codeSplitting: false });
await bundle.close();
// The embedded store's PGlite runs in a worker thread, which loads its script from a file beside the
// code that starts it (libs/store's pglite-worker-client: here, beside tollgate.js).
const worker = await rolldown({
  input: join(repoRoot, 'libs', 'store', 'dist', 'pglite', 'pglite-worker.js'),
  platform: 'node',
  cwd: repoRoot,
  logLevel: 'warn',
  external: (id) => {
    if (id.startsWith('.') || id.startsWith('/') || id.startsWith('\0')) return false;
    if (!builtins.has(id)) imported.add(packageName(id));
    return true;
  },
});
await worker.write({ file: join(bundleDir, 'pglite-worker.js'), format: 'cjs', codeSplitting: false });
await worker.close();

const cliManifest = readJson(join(cliDir, 'package.json'));
const rootManifest = readJson(join(repoRoot, 'package.json'));
const declared = cliManifest.dependencies ?? {};
const needed = new Set([...imported, ...LOADED_BY_NAME]);
// Peers the packages want and npm would otherwise pick a version for (rxjs for NestJS).
for (const name of [...needed]) {
  const manifest = readJson(join(repoRoot, 'node_modules', name, 'package.json'));
  for (const peer of Object.keys(manifest.peerDependencies ?? {})) {
    if (!manifest.peerDependenciesMeta?.[peer]?.optional) needed.add(peer);
  }
}
const problems = [];
for (const name of [...needed].sort()) {
  const tested = rootManifest.dependencies?.[name];
  if (!tested) problems.push(`${name} is used by the bundle but is no dependency of the repository`);
  else if (!declared[name])
    problems.push(`${name} is used by the bundle; add "${name}": "${tested}" to dependencies`);
  else if (declared[name] !== tested)
    problems.push(`${name} is ${declared[name]} here but ${tested} in the repository's package.json`);
}
for (const name of Object.keys(declared)) {
  if (!needed.has(name)) problems.push(`${name} is declared in dependencies but the bundle does not use it`);
}
if (problems.length > 0) fail(`apps/cli/package.json dependencies:\n  ${problems.join('\n  ')}`);

cpSync(join(repoRoot, 'prisma', 'migrations'), join(bundleDir, 'prisma', 'migrations'), { recursive: true });
if (!existsSync(join(bundleDir, 'console', 'index.html'))) fail('the console build wrote no index.html');

// Their licences travel with the bundled third-party code.
for (const name of BUNDLED) {
  const from = join(repoRoot, 'node_modules', name);
  for (const file of readdirSync(from).filter((f) => /^(licen[cs]e|notice)/i.test(f))) {
    cpSync(join(from, file), join(bundleDir, 'third-party', name, file));
  }
}

writeFileSync(shrinkwrapFile, `${JSON.stringify(shrinkwrap(cliManifest), null, 2)}\n`);

/** `@scope/name/sub/path` -> `@scope/name`; `name/sub` -> `name`. */
function packageName(id) {
  const parts = id.split('/');
  return id.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The part of the repository's lock that the CLI's dependencies reach, resolved as Node.js does
 * (nearest node_modules first), with the package at the root.
 */
function shrinkwrap(manifest) {
  const lock = readJson(join(repoRoot, 'package-lock.json'));
  const entries = lock.packages;
  const here = 'apps/cli';
  const resolveFrom = (location, name) => {
    for (let at = location; ;) {
      const candidate = at ? `${at}/node_modules/${name}` : `node_modules/${name}`;
      if (entries[candidate]) return candidate;
      if (!at) return undefined;
      const cut = at.lastIndexOf('/node_modules/');
      at = cut >= 0 ? at.slice(0, cut) : '';
    }
  };
  const reached = new Set();
  const visit = (location, deps, optional) => {
    for (const name of Object.keys(deps ?? {})) {
      const found = resolveFrom(location, name);
      if (!found) {
        if (optional.has(name)) continue;
        fail(`${name} (needed by ${location || 'the root'}) is not in package-lock.json`);
      }
      if (reached.has(found)) continue;
      reached.add(found);
      const entry = entries[found];
      if (entry.link) fail(`${found} is a workspace link; the bundle should contain it`);
      // Optional peers (prisma and typescript for @prisma/client) are not installed for them.
      const peers = Object.fromEntries(
        Object.entries(entry.peerDependencies ?? {}).filter(
          ([peer]) => !entry.peerDependenciesMeta?.[peer]?.optional,
        ),
      );
      const optionalDeps = new Set(Object.keys(entry.optionalDependencies ?? {}));
      visit(found, { ...entry.dependencies, ...entry.optionalDependencies, ...peers }, optionalDeps);
    }
  };
  visit(here, manifest.dependencies, new Set());

  const packages = {
    '': {
      name: manifest.name,
      version: manifest.version,
      license: manifest.license,
      dependencies: manifest.dependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const location of [...reached].sort()) {
    const target = location.startsWith(`${here}/`) ? location.slice(here.length + 1) : location;
    if (packages[target]) fail(`${location} and another package both install at ${target}`);
    const { dev: _dev, devOptional: _devOptional, ...entry } = entries[location];
    packages[target] = entry;
  }
  return { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages };
}
