// MySQL/MariaDB fidelity: `npm run fidelity:mysql`. Runs a documented subset of MariaDB's own test
// suite (mariadb-test: mysql-test-run.pl and suite main, from Debian's `mariadb-test`, the same
// version as the server) twice, each time against a fresh server that mysql-test-run starts with its
// own test configuration (--start-and-exit): once directly, once through Tollgate (`tollgate connect`
// → gateway → agent → server, under a policy without guardrails), both with `--extern` (the tests run
// against an already started server, over TCP). Prints both pass sets and their difference, and
// writes the result into docs/fidelity.md (between <!-- fidelity:mysql --> markers). Exit code 0 when
// the sets are equal, 1 when they differ. Not part of `npm test`: it takes up to an hour.
//
// The two sides run at the same time by default, each against its own server (their own
// mysql-test-run port blocks, MTR_BUILD_THREAD 300/301 and 302/303), each with one test at a time
// (the isolation restores its server between tests); TOLLGATE_FIDELITY_SEQUENTIAL=1 runs them one
// after the other. mysql-test-run's output is written to `mtr-<side>.out` as it comes, so a run cut
// short still shows how far each side got. TOLLGATE_FIDELITY_TESTCASE_TIMEOUT (minutes, default 15)
// is mysql-test-run's --testcase-timeout: on a loaded machine a long test through Tollgate can pass
// 5 minutes; a timeout is reported as a failure and has to be re-run alone to tell it from a
// difference.
//
// The subset (TOLLGATE_FIDELITY_MYSQL_TESTS, a regular expression on test names in suite main; the
// default below) covers queries, types, functions, prepared statements, views, triggers, stored
// programs and CTEs, without the tests that restart, shut down or kill the server. Tests that need
// what an external server cannot give (a restart, server options
// of their own, the binary log, debug builds, plugins not loaded) are skipped by mysql-test-run itself
// in both modes. Needs root (apt-get, and mysql-test-run starts mariadbd as root with --user=root).
import { execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_ADMIN_ROLES } from '../lib.mjs';
import { startMysqlTollgate } from '../suites/mysql-stack.mjs';
import { killServer, prepareIsolation, serveIsolation, writeWrapper } from './mysql-isolate.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const work = process.env.TOLLGATE_FIDELITY_DIR ?? join(tmpdir(), 'tollgate-fidelity-mysql');
const MTR_DIR = '/usr/share/mysql/mysql-test';
const DEFAULT_TESTS =
  '^(select|insert|update|delete|union|func_|type_|ps|cte|view|group_by|having|limit|null|case|distinct|user_var|derived|cast|trigger|sp-|sp$)';
const RESTARTS =
  /restart_mysqld|shutdown_mysqld|kill_mysqld|restart_and_|wait_until_disconnected|^\s*shutdown\b/im;
/**
 * Tests that pass directly and differ through Tollgate because of what Tollgate does on purpose, each
 * with the reason (checked against mysql-test-run's diff for that test). The report lists them as
 * such; a difference not listed here fails the run. The kinds:
 * - `user`: the test logs in as users it created (`connect(c, localhost, mysqltest_1, ...)`) to show
 *   what they may not do; through `tollgate connect` every connection is the connection's user on
 *   the target (root here), whatever user name the client gives, so the statement succeeds.
 * - `change_user`: COM_CHANGE_USER is refused in-protocol (a session keeps its identity).
 * - `local infile`: LOAD DATA LOCAL INFILE is governed by policy and off by default (the proxy never
 *   offers CLIENT_LOCAL_FILES).
 */
const BY_DESIGN = new Map([
  [
    'main.cte_grant',
    'user: connects as mysqltest_1, which it created without rights on the tables a CTE reads, to show the SELECT refused; through Tollgate it runs as root and succeeds',
  ],
  [
    'main.cte_nonrecursive_not_embedded',
    'user: connects as u1 to show a statement refused; through Tollgate it runs as root',
  ],
  [
    'main.delete_returning_grant',
    'user: connects as mysqltest_1 to show DELETE ... RETURNING refused on a column it may not read; through Tollgate it runs as root and the DELETE succeeds',
  ],
  [
    'main.insert_notembedded',
    'user and change_user: connects as user20989 to show INSERTs refused, and uses change_user, which Tollgate refuses',
  ],
  ['main.cte_nonrecursive', 'change_user: `--change_user root,,` is refused by Tollgate'],
  [
    'main.ps_grant',
    'user: connects as second_user, granted SELECT on one table only, to show a SELECT on another refused; through Tollgate it runs as root',
  ],
  [
    'main.sp-security-anchor-type',
    'user: connects as user1 to show SHOW CREATE TABLE refused on a table it may not see; through Tollgate it runs as root',
  ],
  [
    'main.trigger_notembedded',
    'user: connects as mysqltest_dfn, granted no SELECT/UPDATE on t2, to show CREATE TRIGGER refused; through Tollgate it runs as root and the trigger is created',
  ],
  [
    'main.user_var',
    'change_user: `--change_user root,,test` (bug 42188: a trigger setting a user variable after the session is reset) is refused by Tollgate',
  ],
  [
    'main.trigger-compat',
    'local infile: reads a trigger file with LOAD DATA LOCAL INFILE, off through Tollgate',
  ],
]);

/**
 * mysql-test-run's port blocks (30 ports from 10000 + 30 * n): the direct side's server uses n, its
 * tests n + 1, the side through Tollgate n + 2 and n + 3. Another value runs a second run beside.
 */
const BUILD_THREAD = Number(process.env.TOLLGATE_FIDELITY_MTR_BUILD_THREAD ?? 300);
const buildThread = (mode) => BUILD_THREAD + (mode === 'tollgate' ? 2 : 0);
/**
 * The test whose configuration mysql-test-run starts each server with (TOLLGATE_FIDELITY_MTR_START).
 * mysql-test-run loads InnoDB only for tests that include have_innodb.inc: with main.select's, the
 * subset's InnoDB tests (about 20) fail both ways with "Unknown storage engine 'InnoDB'".
 * main.ps_3innodb's has InnoDB and MyISAM as the default engine, as every test of the subset expects.
 */
const START_TEST = process.env.TOLLGATE_FIDELITY_MTR_START ?? 'main.ps_3innodb';
/** The markers of the section of docs/fidelity.md the report writes (another run, another section). */
const SECTION = process.env.TOLLGATE_FIDELITY_SECTION ?? 'fidelity:mysql';
const TESTCASE_TIMEOUT = Number(process.env.TOLLGATE_FIDELITY_TESTCASE_TIMEOUT ?? 15);
const log = (line) => console.log(line);
const sh = (file, args, options = {}) => execFileSync(file, args, { encoding: 'utf8', ...options });

function ensurePackages() {
  if (existsSync(join(MTR_DIR, 'mysql-test-run.pl')) && existsSync('/usr/bin/mariadb-test')) return;
  log('installing mariadb-test');
  sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'mariadb-test'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: 'inherit',
  });
}

function selectTests() {
  const pattern = new RegExp(process.env.TOLLGATE_FIDELITY_MYSQL_TESTS ?? DEFAULT_TESTS);
  return (
    readdirSync(join(MTR_DIR, 'main'))
      .filter((f) => f.endsWith('.test'))
      .map((f) => f.slice(0, -'.test'.length))
      .filter((name) => pattern.test(name))
      // With --extern nobody restarts the server: a test that restarts, shuts down or kills it would
      // end the run for every test after it.
      .filter((name) => !RESTARTS.test(readFileSync(join(MTR_DIR, 'main', `${name}.test`), 'latin1')))
      .sort()
      .map((name) => `main.${name}`)
  );
}

function mtr(args, env, outFile) {
  if (outFile) writeFileSync(outFile, '');
  return new Promise((resolve, reject) => {
    const child = spawn('perl', [join(MTR_DIR, 'mysql-test-run.pl'), ...args], {
      cwd: MTR_DIR,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (chunk) => {
      output += chunk;
      if (outFile) appendFileSync(outFile, chunk);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** A fresh server as mysql-test-run configures it for its tests; resolves with its port and a stop. */
async function startServer(mode) {
  const vardir = join(work, `server-${mode}`);
  rmSync(vardir, { recursive: true, force: true });
  const { output } = await mtr(['--start-and-exit', `--vardir=${vardir}`, START_TEST], {
    MTR_BUILD_THREAD: String(buildThread(mode)),
  });
  const port = /mysqld\.1\s+(\d+)\s/.exec(output)?.[1];
  const pid = /Started \[mysqld\.1 - pid: (\d+)/.exec(output)?.[1];
  if (!port || !pid) throw new Error(`mysql-test-run did not start a server:\n${output.slice(-3000)}`);
  const state = await prepareIsolation({ work, mode, port: Number(port), pid: Number(pid), vardir });
  const service = await serveIsolation(state);
  return {
    port: Number(port),
    vardir,
    isolation: { state, wrapper: writeWrapper(work, mode, service.port) },
    stop: async () => {
      await service.close();
      await killServer(state);
    },
  };
}

async function runMode(mode, tests) {
  const server = await startServer(mode);
  let stack;
  try {
    let port = server.port;
    if (mode === 'tollgate') {
      stack = await startMysqlTollgate(
        root,
        // No database on the connection: each client's own (mysqltest's `test`, or the one a
        // test's `connect(c, localhost, root,, mysqltest)` names) is used, as directly.
        { port: server.port, user: 'root' },
        BENCH_ADMIN_ROLES,
      );
      port = stack.port;
    }
    log(`${mode}: ${tests.length} tests of suite main against 127.0.0.1:${port}`);
    // The server's own vardir: the tests write files where the server may (secure-file-priv) and
    // look into its data directory.
    const vardir = server.vardir;
    const started = performance.now();
    const { output } = await mtr(
      [
        '--extern',
        'host=127.0.0.1',
        '--extern',
        `port=${port}`,
        '--extern',
        'user=root',
        // Every connection over TCP, so `connect(c, localhost, ...)` reaches the same port.
        '--extern',
        'protocol=tcp',
        `--vardir=${vardir}`,
        '--force',
        '--max-test-fail=0',
        `--testcase-timeout=${TESTCASE_TIMEOUT}`,
        '--parallel=1',
        ...tests,
      ],
      // Each test's mariadb-test runs through the isolation wrapper: the server is restored to its
      // state before the first test whenever the tests before changed it.
      { MTR_BUILD_THREAD: String(buildThread(mode) + 1), MYSQL_TEST: server.isolation.wrapper },
      join(work, `mtr-${mode}.out`),
    );
    const results = new Map();
    for (const m of output.matchAll(/^(main\.\S+)\s+(?:w\d+\s+)?\[ (pass|fail|skipped|disabled) \]/gm))
      results.set(m[1], m[2]);
    if (results.size === 0) throw new Error(`mysql-test-run ran no tests:\n${output.slice(-3000)}`);
    const seconds = (performance.now() - started) / 1000;
    const count = (r) => [...results.values()].filter((v) => v === r).length;
    // Which tests found the server changed by the tests before them (and had it restored).
    const restores = [
      ...readFileSync(server.isolation.state.resets, 'utf8').matchAll(/^before (main\.\S+): restored/gm),
    ].map((m) => m[1]);
    log(
      `${mode}: ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped in ${seconds.toFixed(0)} s`,
    );
    log(`${mode}: the server was restored before ${restores.length} tests`);
    const run = { results, seconds, output, restores };
    writeFileSync(
      join(work, `result-${mode}.json`),
      JSON.stringify({ ...run, results: Object.fromEntries(results) }),
    );
    return run;
  } finally {
    await stack?.stop();
    await server.stop();
  }
}

/** The first lines mysql-test-run printed about one failed test (after its `[ fail ]` line). */
function failureExcerpt(output, test, lines = 10) {
  const at = output.search(new RegExp(`^${test.replace(/[.]/g, '\\.')}\\s+(?:w\\d+\\s+)?\\[ fail \\]`, 'm'));
  if (at < 0) return '';
  return output
    .slice(at)
    .split('\n')
    .slice(1, lines + 1)
    .join('\n');
}

function report({ serverVersion, direct, tollgate, load, pattern, measured }) {
  const pass = (run) => new Set([...run.results].filter(([, r]) => r === 'pass').map(([t]) => t));
  const ran = (run) => [...run.results].filter(([, r]) => r === 'pass' || r === 'fail').length;
  const [d, t] = [pass(direct), pass(tollgate)];
  const onlyDirect = [...d].filter((x) => !t.has(x)).sort();
  const byDesign = onlyDirect.filter((x) => BY_DESIGN.has(x));
  const unexplained = onlyDirect.filter((x) => !BY_DESIGN.has(x));
  const onlyTollgate = [...t].filter((x) => !d.has(x)).sort();
  const failedBoth = [...direct.results]
    .filter(([x, r]) => r === 'fail' && tollgate.results.get(x) === 'fail')
    .map(([x]) => x)
    .sort();
  const skipped = [...direct.results].filter(([, r]) => r === 'skipped' || r === 'disabled').length;
  log(`\npassed directly (${d.size}): ${[...d].sort().join(' ')}`);
  log(`\npassed through Tollgate (${t.size}): ${[...t].sort().join(' ')}`);
  log(`\npassed directly only (${onlyDirect.length}): ${onlyDirect.join(' ') || '-'}`);
  log(`  of which by design (${byDesign.length}): ${byDesign.join(' ') || '-'}`);
  log(`  not explained (${unexplained.length}): ${unexplained.join(' ') || '-'}`);
  log(`passed through Tollgate only (${onlyTollgate.length}): ${onlyTollgate.join(' ') || '-'}`);
  log(`failed both ways (${failedBoth.length}): ${failedBoth.join(' ') || '-'}`);
  for (const test of onlyDirect) {
    log(`\n--- ${test} through Tollgate:`);
    log(failureExcerpt(tollgate.output, test));
  }
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const list = (items) => (items.length ? items.map((x) => `\`${x}\``).join(', ') : 'none');
  const markdown = [
    `| | tests run | passed | failed | skipped by mysql-test-run | server restored before | time |`,
    `| --- | --- | --- | --- | --- | --- | --- |`,
    `| direct | ${ran(direct)} | ${d.size} | ${ran(direct) - d.size} | ${skipped} | ${direct.restores.length} tests | ${direct.seconds.toFixed(0)} s |`,
    `| through Tollgate | ${ran(tollgate)} | ${t.size} | ${ran(tollgate) - t.size} | ${[...tollgate.results.values()].filter((r) => r === 'skipped' || r === 'disabled').length} | ${tollgate.restores.length} tests | ${tollgate.seconds.toFixed(0)} s |`,
    '',
    `- passed directly but not through Tollgate, by design: ${
      byDesign.length ? byDesign.map((x) => `\`${x}\` (${BY_DESIGN.get(x)})`).join('; ') : 'none'
    }`,
    `- passed directly but not through Tollgate, not explained by design: ${list(unexplained)}`,
    `- passed through Tollgate but not directly: ${list(onlyTollgate)}`,
    `- failed both ways: ${list(failedBoth)}`,
    '',
    `Suite main of mariadb-test (Debian), tests matching \`${pattern}\`, against ${serverVersion} started by mysql-test-run (--start-and-exit, with \`${START_TEST}\`'s configuration), reached with --extern over TCP, and restored to its state before the first test whenever a test left it changed; measured ${measured.slice(0, 10)} on ${machine}, load average ${load.toFixed(2)} before the runs.`,
  ].join('\n');
  const docPath = join(root, 'docs', 'fidelity.md');
  const section = `<!-- ${SECTION} -->\n${markdown}\n<!-- /${SECTION} -->`;
  let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Fidelity\n';
  const markers = new RegExp(`<!-- ${SECTION} -->[\\s\\S]*?<!-- /${SECTION} -->`);
  doc = markers.test(doc) ? doc.replace(markers, () => section) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(docPath, doc);
  log(`\nwrote ${docPath}`);
  return unexplained.length === 0 && onlyTollgate.length === 0;
}

async function main() {
  const load = loadavg()[0];
  mkdirSync(work, { recursive: true });
  ensurePackages();
  const pattern = process.env.TOLLGATE_FIDELITY_MYSQL_TESTS ?? DEFAULT_TESTS;
  const tests = selectTests();
  const serverVersion = sh('/usr/sbin/mariadbd', ['--version'])
    .trim()
    .replace(/^\/usr\/sbin\/mariadbd\s+/, '');
  // `direct` or `tollgate`: one side, for investigating; `report`: the report again from the last
  // run's results in the output directory (after BY_DESIGN or the analysis changed).
  const only = process.env.TOLLGATE_FIDELITY_ONLY;
  const saved = (mode) => {
    const run = JSON.parse(readFileSync(join(work, `result-${mode}.json`), 'utf8'));
    return { ...run, results: new Map(Object.entries(run.results)) };
  };
  if (only === 'report') {
    const { load, measured } = JSON.parse(readFileSync(join(work, 'run.json'), 'utf8'));
    const direct = saved('direct');
    const tollgate = saved('tollgate');
    process.exitCode = report({ serverVersion, direct, tollgate, load, pattern, measured }) ? 0 : 1;
    return;
  }
  writeFileSync(join(work, 'run.json'), JSON.stringify({ load, measured: new Date().toISOString() }));
  const side = (mode) => (only && only !== mode ? undefined : runMode(mode, tests));
  let direct;
  let tollgate;
  if (process.env.TOLLGATE_FIDELITY_SEQUENTIAL === '1') {
    direct = await side('direct');
    tollgate = await side('tollgate');
  } else {
    // Both sides to their end (each stops its own servers) before a failure of one is reported.
    const settled = await Promise.allSettled([side('direct'), side('tollgate')]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    [direct, tollgate] = settled.map((r) => r.value);
  }
  if (!direct || !tollgate) return;
  process.exitCode = report({
    serverVersion,
    direct,
    tollgate,
    load,
    pattern,
    measured: new Date().toISOString(),
  })
    ? 0
    : 1;
}

await main();
