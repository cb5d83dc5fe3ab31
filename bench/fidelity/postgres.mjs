// PostgreSQL fidelity: `npm run fidelity:postgres`. Runs PostgreSQL's own regression suite
// (pg_regress, parallel_schedule, from the sources of the installed server's major version) twice on
// throwaway clusters: once directly, once through Tollgate (`tollgate connect` → gateway → agent →
// target, under a policy without guardrails), and compares the two sets of passing tests. Prints both
// pass sets and their difference, and writes the result into docs/fidelity.md (between
// <!-- fidelity:postgres --> markers). Exit code 0 when the sets are equal, 1 when they differ.
// Not part of `npm test`: it downloads and builds, and takes minutes.
//
// Needs root (apt-get): the sources come from Debian with a sources list of its own (deb-src for
// the machine's mirror; the machine's own lists are not touched), `postgresql-server-dev-N`
// (pg_regress and the server headers) is installed when missing, and regress.so, autoinc.so and
// refint.so are built with PGXS. Downloads and builds are kept in TOLLGATE_FIDELITY_DIR (default
// /tmp/tollgate-fidelity) for the next run.
import { execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_ADMIN_ROLES } from '../lib.mjs';
import { startTollgate } from '../suites/postgres.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const work = process.env.TOLLGATE_FIDELITY_DIR ?? join(tmpdir(), 'tollgate-fidelity');
const log = (line) => console.log(line);

/** The fidelity run's policy: the bootstrap admin may connect; no guardrail, no masking. */
const POLICY = BENCH_ADMIN_ROLES;

const sh = (file, args, options = {}) => execFileSync(file, args, { encoding: 'utf8', ...options });
const has = (bin) => {
  try {
    sh('sh', ['-c', `command -v ${bin}`]);
    return true;
  } catch {
    return false;
  }
};

function major() {
  const wanted = process.env.TOLLGATE_FIDELITY_PG_MAJOR;
  const installed = readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d));
  const chosen = wanted ?? installed.sort((a, b) => Number(b) - Number(a))[0];
  if (!chosen || !existsSync(`/usr/lib/postgresql/${chosen}/bin/postgres`))
    throw new Error(`no PostgreSQL server ${chosen ?? ''} installed under /usr/lib/postgresql`);
  return chosen;
}

function ensurePackages(pgMajor) {
  const wanted = [];
  // pg_regress comes with postgresql-client-N; the server headers regress.so needs only with the -dev.
  if (!existsSync(pgRegressPath(pgMajor)) || !existsSync(serverHeader(pgMajor)))
    wanted.push(`postgresql-server-dev-${pgMajor}`);
  for (const [bin, pkg] of [
    ['make', 'make'],
    ['gcc', 'gcc'],
    ['bzip2', 'bzip2'],
  ])
    if (!has(bin)) wanted.push(pkg);
  if (wanted.length === 0) return;
  log(`installing ${wanted.join(', ')}`);
  sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...wanted], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: 'inherit',
  });
}

const serverHeader = (pgMajor) => `/usr/include/postgresql/${pgMajor}/server/postgres.h`;
const pgRegressPath = (pgMajor) => `/usr/lib/postgresql/${pgMajor}/lib/pgxs/src/test/regress/pg_regress`;

/** deb-src lines for the mirrors and suites the machine's own apt sources use (one-line and deb822). */
function debSrcLines() {
  const lines = new Set();
  const files = ['/etc/apt/sources.list'];
  if (existsSync('/etc/apt/sources.list.d'))
    for (const f of readdirSync('/etc/apt/sources.list.d')) files.push(join('/etc/apt/sources.list.d', f));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const m = /^\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line);
        if (m && /debian/.test(m[2])) lines.add(`deb-src ${m[1] ?? ''}${m[2]} ${m[3]} ${m[4].trim()}`);
      }
    } else if (file.endsWith('.sources')) {
      for (const block of text.split(/\n\s*\n/)) {
        const field = (name) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(block)?.[1].trim();
        if (field('Enabled') === 'no' || !/\bdeb\b/.test(field('Types') ?? '')) continue;
        const signedBy = field('Signed-By');
        const options = signedBy && !signedBy.includes('\n') ? `[signed-by=${signedBy}] ` : '';
        for (const uri of (field('URIs') ?? '').split(/\s+/).filter((u) => /debian/.test(u)))
          for (const suite of (field('Suites') ?? '').split(/\s+/).filter(Boolean))
            lines.add(`deb-src ${options}${uri} ${suite} ${field('Components') ?? 'main'}`);
      }
    }
  }
  if (lines.size === 0) throw new Error('no Debian mirror found in the apt sources to fetch sources from');
  return [...lines];
}

/** Compares Debian versions well enough for one package's versions (numeric runs compared as numbers). */
function compareVersions(a, b) {
  const parts = (v) => v.split(/(\d+)/).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    if (x[i] === undefined) return -1;
    if (y[i] === undefined) return 1;
    if (typeof x[i] === 'number' && typeof y[i] === 'number') return x[i] - y[i];
    return String(x[i]) < String(y[i]) ? -1 : 1;
  }
  return 0;
}

/** Fetches and unpacks postgresql-N's sources; returns the source tree and the version found. */
function fetchSources(pgMajor) {
  const aptDir = join(work, 'apt');
  mkdirSync(join(aptDir, 'lists', 'partial'), { recursive: true });
  writeFileSync(join(aptDir, 'sources.list'), debSrcLines().join('\n') + '\n');
  const apt = [
    '-o',
    `Dir::Etc::sourcelist=${join(aptDir, 'sources.list')}`,
    '-o',
    'Dir::Etc::sourceparts=-',
    '-o',
    `Dir::State::Lists=${join(aptDir, 'lists')}`,
  ];
  const pkg = `postgresql-${pgMajor}`;
  const cached = readdirSync(work).filter((d) => d.startsWith(`src-${pkg}-`));
  for (const dir of cached) {
    const tree = readdirSync(join(work, dir)).find((d) => d.startsWith('postgresql-') && !d.includes('_'));
    if (tree && existsSync(join(work, dir, tree, 'src/test/regress/parallel_schedule'))) {
      log(`sources: ${join(work, dir, tree)} (cached)`);
      return { tree: join(work, dir, tree), version: dir.slice(`src-${pkg}-`.length) };
    }
  }
  log('apt-get update (sources list of its own)');
  sh('apt-get', [...apt, 'update', '-qq']);
  const versions = [...sh('apt-cache', [...apt, 'showsrc', pkg]).matchAll(/^Version: (\S+)$/gm)]
    .map((m) => m[1])
    .sort(compareVersions)
    .reverse();
  if (versions.length === 0) throw new Error(`no sources of ${pkg} in ${debSrcLines().join('; ')}`);
  // The mirror's index can name versions whose files are gone (15.20 was listed but missing): try
  // each, newest first.
  for (const version of versions) {
    const dir = join(work, `src-${pkg}-${version}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      sh('apt-get', [...apt, 'source', '--download-only', '-qq', `${pkg}=${version}`], {
        cwd: dir,
        stdio: 'pipe',
      });
    } catch (error) {
      const lines = String(error.stderr ?? error)
        .trim()
        .split('\n');
      log(
        `sources of ${pkg} ${version}: not downloadable (${lines.find((l) => l.startsWith('E:')) ?? lines[0]})`,
      );
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const orig = readdirSync(dir).find((f) => /\.orig\.tar\.(bz2|gz|xz)$/.test(f));
    if (!orig) throw new Error(`no .orig tarball in ${dir}`);
    sh('tar', ['xf', orig], { cwd: dir });
    const tree = readdirSync(dir).find((d) => d.startsWith('postgresql-') && !d.includes('_'));
    log(`sources: ${pkg} ${version} in ${join(dir, tree)}`);
    return { tree: join(dir, tree), version };
  }
  throw new Error(
    `none of the versions of ${pkg} the mirror lists could be downloaded: ${versions.join(', ')}`,
  );
}

/** regress.so (src/test/regress) and autoinc.so, refint.so (contrib/spi), built with PGXS. */
function buildModules(tree, pgMajor) {
  const dir = join(work, `build-${pgMajor}`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(tree, 'src/test/regress/regress.c'), join(dir, 'regress.c'));
  copyFileSync(join(tree, 'contrib/spi/autoinc.c'), join(dir, 'autoinc.c'));
  copyFileSync(join(tree, 'contrib/spi/refint.c'), join(dir, 'refint.c'));
  writeFileSync(
    join(dir, 'Makefile'),
    [
      'MODULES = regress autoinc refint',
      `PG_CONFIG = /usr/lib/postgresql/${pgMajor}/bin/pg_config`,
      'PGXS := $(shell $(PG_CONFIG) --pgxs)',
      'include $(PGXS)',
      '',
    ].join('\n'),
  );
  sh('make', ['-s', 'with_llvm=no'], { cwd: dir, stdio: 'pipe' });
  return dir;
}

/** One pg_regress run; resolves with each test's result and the run's time. */
function pgRegress({ pgMajor, tree, dlpath, outputdir, port, user, env }) {
  rmSync(outputdir, { recursive: true, force: true });
  mkdirSync(outputdir, { recursive: true });
  // Tests that COPY to and from files (copy, misc, largeobject) have the server write into the
  // output directory: run pg_regress as the server's user so both can.
  const asPostgres = process.getuid?.() === 0 ? postgresIds() : undefined;
  if (asPostgres) chownSync(outputdir, asPostgres.uid, asPostgres.gid);
  const regress = join(tree, 'src/test/regress');
  const args = [
    `--inputdir=${regress}`,
    `--outputdir=${outputdir}`,
    `--bindir=/usr/lib/postgresql/${pgMajor}/bin`,
    `--dlpath=${dlpath}`,
    `--schedule=${join(regress, 'parallel_schedule')}`,
    '--use-existing',
    '--host=127.0.0.1',
    `--port=${port}`,
    `--user=${user}`,
    '--dbname=regression',
  ];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(pgRegressPath(pgMajor), args, {
      cwd: outputdir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...asPostgres,
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => {
      writeFileSync(join(outputdir, 'pg_regress.out'), output);
      const results = new Map();
      for (const m of output.matchAll(/^(?:test\s+|\s+)(\S+)\s+\.\.\. (ok|FAILED|failed \(ignored\))/gm))
        results.set(m[1], m[2]);
      if (results.size === 0) reject(new Error(`pg_regress ran no tests (exit ${code}):\n${output}`));
      else resolve({ results, seconds: (performance.now() - started) / 1000, code });
    });
  });
}

function postgresIds() {
  const id = (flag) => Number(sh('id', [flag, 'postgres']).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** A fresh cluster (SCRAM, from @tollgate/testing) with a superuser and pg_regress's database. */
function startCluster() {
  const require = createRequire(import.meta.url);
  const { startPostgresCluster } = require(join(root, 'libs/testing/dist/postgres-cluster.js'));
  return startPostgresCluster().then((cluster) => {
    // The regression tests create roles, tablespaces and C functions: they need a superuser.
    cluster.sql('ALTER ROLE tg_scram SUPERUSER');
    // What pg_regress itself does for a database it creates (skipped with --use-existing).
    cluster.sql('CREATE DATABASE regression TEMPLATE template0 OWNER tg_scram');
    cluster.sql(
      [
        "lc_messages TO 'C'",
        "lc_monetary TO 'C'",
        "lc_numeric TO 'C'",
        "lc_time TO 'C'",
        "bytea_output TO 'hex'",
        "timezone_abbreviations TO 'Default'",
      ]
        .map((setting) => `ALTER DATABASE regression SET ${setting};`)
        .join(' '),
    );
    return cluster;
  });
}

async function runMode(mode, context) {
  const cluster = await startCluster();
  let stack;
  try {
    const target = {
      port: cluster.port,
      user: 'tg_scram',
      password: cluster.password,
      database: 'regression',
    };
    let port = cluster.port;
    if (mode === 'tollgate') {
      stack = await startTollgate(root, target, undefined, POLICY);
      port = stack.port;
    }
    log(`${mode}: pg_regress against 127.0.0.1:${port}`);
    const run = await pgRegress({
      ...context,
      outputdir: join(work, `results-${mode}`),
      port,
      user: target.user,
      env: { PGPASSWORD: target.password },
    });
    const passed = [...run.results].filter(([, r]) => r === 'ok').length;
    log(`${mode}: ${passed} of ${run.results.size} passed in ${run.seconds.toFixed(0)} s`);
    return run;
  } finally {
    await stack?.stop();
    cluster.stop();
  }
}

/** The first changed lines of one test's diff, from regression.diffs. */
function diffExcerpt(outputdir, test, lines = 12) {
  const path = join(outputdir, 'regression.diffs');
  if (!existsSync(path)) return '';
  const diffs = readFileSync(path, 'utf8').split(/^diff /m);
  const mine = diffs.find((d) => new RegExp(`/${test}\\.out\\s`).test(d.split('\n')[0]));
  if (!mine) return '';
  return mine
    .split('\n')
    .filter((l) => /^[+-][^+-]/.test(l))
    .slice(0, lines)
    .join('\n');
}

function report({ version, serverVersion, direct, tollgate, load }) {
  const pass = (run) => new Set([...run.results].filter(([, r]) => r === 'ok').map(([t]) => t));
  const [d, t] = [pass(direct), pass(tollgate)];
  const onlyDirect = [...d].filter((x) => !t.has(x)).sort();
  const onlyTollgate = [...t].filter((x) => !d.has(x)).sort();
  const failedBoth = [...direct.results.keys()].filter((x) => !d.has(x) && !t.has(x)).sort();
  log(`\npassed directly (${d.size}): ${[...d].sort().join(' ')}`);
  log(`\npassed through Tollgate (${t.size}): ${[...t].sort().join(' ')}`);
  log(`\npassed directly only (${onlyDirect.length}): ${onlyDirect.join(' ') || '-'}`);
  log(`passed through Tollgate only (${onlyTollgate.length}): ${onlyTollgate.join(' ') || '-'}`);
  log(`failed both ways (${failedBoth.length}): ${failedBoth.join(' ') || '-'}`);
  for (const test of onlyDirect) {
    log(`\n--- ${test} through Tollgate (first changed lines):`);
    log(diffExcerpt(join(work, 'results-tollgate'), test));
  }

  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const list = (items) => (items.length ? items.map((x) => `\`${x}\``).join(', ') : 'none');
  const markdown = [
    `| | tests | passed | failed | time |`,
    `| --- | --- | --- | --- | --- |`,
    `| direct | ${direct.results.size} | ${d.size} | ${direct.results.size - d.size} | ${direct.seconds.toFixed(0)} s |`,
    `| through Tollgate | ${tollgate.results.size} | ${t.size} | ${tollgate.results.size - t.size} | ${tollgate.seconds.toFixed(0)} s |`,
    '',
    `- passed directly but not through Tollgate: ${list(onlyDirect)}`,
    `- passed through Tollgate but not directly: ${list(onlyTollgate)}`,
    `- failed both ways: ${list(failedBoth)}`,
    '',
    `Regression tests of PostgreSQL ${version} (Debian source package), server ${serverVersion}; measured ${new Date().toISOString().slice(0, 10)} on ${machine}, load average ${load.toFixed(2)} before the runs.`,
  ].join('\n');
  const docPath = join(root, 'docs', 'fidelity.md');
  const section = `<!-- fidelity:postgres -->\n${markdown}\n<!-- /fidelity:postgres -->`;
  let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Fidelity\n';
  const pattern = /<!-- fidelity:postgres -->[\s\S]*?<!-- \/fidelity:postgres -->/;
  doc = pattern.test(doc) ? doc.replace(pattern, section) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(docPath, doc);
  log(`\nwrote ${docPath}`);
  return onlyDirect.length === 0 && onlyTollgate.length === 0;
}

async function main() {
  const load = loadavg()[0];
  mkdirSync(work, { recursive: true });
  const pgMajor = major();
  ensurePackages(pgMajor);
  const { tree, version } = fetchSources(pgMajor);
  const dlpath = buildModules(tree, pgMajor);
  const serverVersion = sh(`/usr/lib/postgresql/${pgMajor}/bin/postgres`, ['--version']).trim();
  const context = { pgMajor, tree, dlpath };
  const only = process.env.TOLLGATE_FIDELITY_ONLY; // `direct` or `tollgate`: one side, for investigating
  const direct = only === 'tollgate' ? undefined : await runMode('direct', context);
  const tollgate = only === 'direct' ? undefined : await runMode('tollgate', context);
  if (!direct || !tollgate) return;
  const same = report({ version, serverVersion, direct, tollgate, load });
  process.exitCode = same ? 0 : 1;
}

await main();
