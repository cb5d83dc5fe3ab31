// Per-test isolation for `npm run fidelity:mysql`. mysql-test-run with --extern runs every test on
// one server and never restarts it, so a test that fails midway leaves its databases, tables, users
// and global settings (`SET GLOBAL sql_mode=''`) to the tests after it: one failure would cascade.
// This module keeps a pristine copy of the server's data directory (taken right after mysql-test-run
// started it) and, before each test, compares a fingerprint of the server's state with the one taken
// then: schemas, tables and triggers outside the system schemas, plugins, the grant and routine
// tables of `mysql`, and every global variable. When they differ, the server is stopped, its data
// directory restored and the server started again, with the same command line and port (a session
// through Tollgate opens a new target connection for each test's connections).
//
// mysql-test-run runs each test's mariadb-test through MYSQL_TEST, a wrapper script (writeWrapper)
// that, for a test's own invocation (recognised by --suite-dir and --test-file; a test's nested
// $MYSQL_TEST calls pass through untouched), first asks the fidelity script's process
// (serveIsolation, on loopback) to check and restore the server. The
// restore runs there, not in mysql-test-run's process tree, whose open-files limit is too low to
// start the server as mysql-test-run did (open_files_limit, table_open_cache would differ). Every
// restore is logged (test name and the first differing lines), so the report can tell which test
// left what behind.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { appendFileSync, copyFileSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FINGERPRINT = `
SELECT 'schema', schema_name, default_character_set_name, default_collation_name FROM information_schema.schemata ORDER BY 2;
SELECT 'table', table_schema, table_name, table_type, engine FROM information_schema.tables
  WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 2, 3;
SELECT 'trigger', trigger_schema, trigger_name FROM information_schema.triggers ORDER BY 2, 3;
SELECT 'plugin', plugin_name, plugin_status FROM information_schema.plugins ORDER BY 2;
CHECKSUM TABLE mysql.global_priv, mysql.db, mysql.tables_priv, mysql.columns_priv, mysql.procs_priv,
  mysql.proxies_priv, mysql.roles_mapping, mysql.plugin, mysql.servers, mysql.proc, mysql.event, mysql.func;
SELECT 'variable', variable_name, variable_value FROM information_schema.global_variables ORDER BY 2;
`;

/** Global variables that change on their own (positions, counters, clocks): not test state. */
const VOLATILE = /^(GTID_|TIMESTAMP$|LAST_|INNODB_LOG_FILE_BUFFERING$|HOSTNAME$|PID_FILE$)/i;

const sql = (port, text) =>
  execFileSync('mariadb', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-N', '-B'], {
    input: text,
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });

export function fingerprint(port) {
  return sql(port, FINGERPRINT)
    .split('\n')
    .filter((line) => line && !(line.startsWith('variable\t') && VOLATILE.test(line.split('\t')[1] ?? '')))
    .join('\n');
}

function differences(before, after) {
  const a = new Set(before.split('\n'));
  const b = new Set(after.split('\n'));
  return [
    ...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`),
    ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`),
  ];
}

async function waitReady(port, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      sql(port, 'SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > until) throw new Error(`the server on port ${port} did not come back: ${error}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid) {
  while (alive(pid)) await new Promise((r) => setTimeout(r, 100));
}

/** Starts the server from the state's command line; records its pid. */
async function startServer(state) {
  const log = openSync(state.log, 'a');
  const [file, ...args] = state.cmdline;
  const child = spawn(file, args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(state.pidFile, String(child.pid));
  await waitReady(state.port);
}

export function serverPid(state) {
  return Number(readFileSync(state.pidFile, 'utf8'));
}

/** Stops the server (SIGKILL: its data directory is replaced anyway) and waits for it to exit. */
export async function killServer(state) {
  const pid = serverPid(state);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await waitGone(pid);
}

/**
 * Takes over a server mysql-test-run started: stops it cleanly, copies its data directory as the
 * pristine one, starts it again and records the fingerprint to compare with before each test.
 * Returns the state serveIsolation works with.
 */
export async function prepareIsolation({ work, mode, port, pid, vardir }) {
  // mysql-test-run --extern later writes its own my.cnf into the same vardir (for the clients): the
  // server keeps a copy of the one it was started with.
  const serverConfig = join(vardir, 'mysqld.1', 'server.cnf');
  copyFileSync(join(vardir, 'my.cnf'), serverConfig);
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter(Boolean)
    .map((arg) => (arg.startsWith('--defaults-file=') ? `--defaults-file=${serverConfig}` : arg));
  const datadir = join(vardir, 'mysqld.1', 'data');
  const state = {
    port,
    cmdline,
    datadir,
    pristine: join(vardir, 'mysqld.1', 'data.pristine'),
    log: join(vardir, 'mysqld.1', 'mysqld.log'),
    pidFile: join(work, `server-${mode}.pid`),
    resets: join(work, `resets-${mode}.log`),
    baseline: join(work, `baseline-${mode}.txt`),
  };
  writeFileSync(state.pidFile, String(pid));
  process.kill(pid, 'SIGTERM');
  await waitGone(pid);
  rmSync(state.pristine, { recursive: true, force: true });
  execFileSync('cp', ['-a', datadir, state.pristine]);
  await startServer(state);
  writeFileSync(state.baseline, fingerprint(port));
  writeFileSync(state.resets, '');
  return state;
}

/**
 * The MYSQL_TEST wrapper: for a test's own mariadb-test invocation (the one with --suite-dir and
 * --test-file; a test's nested $MYSQL_TEST calls have neither), has the fidelity process check and
 * restore the server (bash's /dev/tcp: no process to start per test), then runs mariadb-test.
 */
export function writeWrapper(work, mode, port) {
  const wrapper = join(work, `mariadb-test-${mode}`);
  writeFileSync(
    wrapper,
    `#!/bin/bash
test=; suite=
for arg in "$@"; do
  case "$arg" in --test-file=*) test=\${arg#--test-file=} ;; --suite-dir=*) suite=1 ;; esac
done
if [ -n "$test" ] && [ -n "$suite" ]; then
  name=main.$(basename "$test" .test)
  exec 3<>/dev/tcp/127.0.0.1/${port} || exit 1
  printf 'POST /before?test=%s HTTP/1.0\\r\\n\\r\\n' "$name" >&3
  read -r _ status _ <&3
  exec 3<&-
  if [ "$status" != 200 ]; then
    echo "fidelity isolation: the server could not be restored before $name" >&2
    exit 1
  fi
fi
exec /usr/bin/mariadb-test "$@"
`,
    { mode: 0o755 },
  );
  return wrapper;
}

/**
 * Serves the wrapper's requests (one test at a time: mysql-test-run runs with --parallel=1).
 * Resolves with the URL and a close.
 */
export async function serveIsolation(state) {
  const server = createServer((req, res) => {
    const test = new URL(req.url ?? '/', 'http://x').searchParams.get('test') ?? '?';
    beforeTest(state, test).then(
      () => res.end('ok'),
      (error) => {
        appendFileSync(state.resets, `before ${test}: could not restore the server: ${error}\n`);
        res.statusCode = 500;
        res.end(String(error));
      },
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Before a test: restore the server when the previous tests changed its state. */
async function beforeTest(state, test) {
  const baseline = readFileSync(state.baseline, 'utf8');
  let now;
  try {
    now = fingerprint(state.port);
  } catch (error) {
    now = `unreachable: ${error instanceof Error ? error.message.split('\n')[0] : error}`;
  }
  if (now === baseline) return;
  const changed = differences(baseline, now);
  appendFileSync(
    state.resets,
    `before ${test}: restored the server (${changed.length} differences)\n${changed
      .slice(0, 12)
      .map((l) => `    ${l}`)
      .join('\n')}\n`,
  );
  await killServer(state);
  rmSync(state.datadir, { recursive: true, force: true });
  execFileSync('cp', ['-a', state.pristine, state.datadir]);
  await startServer(state);
  const after = fingerprint(state.port);
  if (after !== baseline) {
    appendFileSync(
      state.resets,
      `    still differs after the restore:\n${differences(baseline, after)
        .slice(0, 12)
        .map((l) => `      ${l}`)
        .join('\n')}\n`,
    );
  }
}
