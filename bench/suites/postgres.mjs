// PostgreSQL through Tollgate against a direct connection and its peers, one target for all paths: a
// throwaway cluster that authenticates with SCRAM-SHA-256 (the machine's own server trusts loopback).
// Paths: direct; PgBouncer; two plain Node TCP relays in series (the floor of any design with two
// Node processes on the path); Pgpool-II (a C proxy that parses and logs every statement); Tollgate
// through `tollgate connect` and through the gateway's own PostgreSQL listener, each with the
// gateway on the embedded store and on PostgreSQL. Per path: pgbench select-only and TPC-B-like with
// 8 clients, pgbench -C (a new session per transaction), COPY of a ~1 GiB table out through psql,
// and sequential `SELECT 1` round trips with node-postgres. The Tollgate paths are the real thing:
// gateway → agent (the PostgreSQL engine: every statement parsed, decided by a policy with a
// guardrail, audited durably) → target; the listener is measured in both audit modes, edge (the
// default: the agent's journal) and strict (`audit: gateway`: the gateway's commit).
import { execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import {
  adminApi,
  BENCH_ADMIN_ROLES,
  BENCH_ADMIN_SECRET,
  spawnTollgate,
  summarize,
  table,
  waitForOutput,
} from '../lib.mjs';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const SECONDS = Number(process.env.BENCH_PG_SECONDS ?? 12);
const SESSION_SECONDS = Number(process.env.BENCH_PG_SESSION_SECONDS ?? 8);
const CLIENTS = Number(process.env.BENCH_PG_CLIENTS ?? 8);
const SCALE = Number(process.env.BENCH_PG_SCALE ?? 10);
// Rows of the COPY table: 1 KiB of text each, so 1,048,576 rows ≈ 1 GiB of COPY text output.
const COPY_ROWS = Number(process.env.BENCH_PG_COPY_ROWS ?? 1024 * 1024);
const QUERIES = Number(process.env.BENCH_PG_QUERIES ?? 2000);
const WARMUP = 200;

const POLICY = `${BENCH_ADMIN_ROLES}guardrails:
  - name: no-drop
    match: {protocol: postgres}
    deny: {statements: [DROP, TRUNCATE], message: dropping tables is not allowed here}
`;
/** The same policy in the strict audit mode: the gateway commits each statement's event before it runs. */
const STRICT_POLICY = `${POLICY}audit:
  - name: strict
    mode: gateway
`;

const WORKLOADS = [
  { key: 'so', label: 'select-only', args: ['-S', '-M', 'simple'] },
  { key: 'tpcb', label: 'TPC-B-like', args: ['-M', 'simple'] },
  // A new session (TCP connection, authentication, for Tollgate a session open) per transaction.
  { key: 'sessions', label: 'pgbench -C', args: ['-S', '-M', 'simple', '-C'], seconds: SESSION_SECONDS },
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a program to completion; rejects with its output on a non-zero exit. */
function exec(file, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve({ stdout, stderr })
        : reject(new Error(`${file} ${args.join(' ')} exited ${code}:\n${stdout}\n${stderr}`)),
    );
  });
}

const postgresIds = () => ({
  uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
  gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
});

/**
 * PgBouncer on a free loopback port in front of the target, session pooling, SCRAM on both sides.
 * Undefined when pgbouncer is not installed.
 */
async function startPgbouncer(target, log) {
  const binary = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((f) => existsSync(f));
  if (!binary) {
    log('PgBouncer: not installed (apt-get install pgbouncer); path skipped');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-pgbouncer-'));
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'userlist.txt'), `"${target.user}" "${target.password.replace(/"/g, '""')}"\n`);
  writeFileSync(
    ini,
    [
      '[databases]',
      `${target.database} = host=127.0.0.1 port=${target.port} dbname=${target.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir = ''",
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = session',
      'max_client_conn = 200',
      'default_pool_size = 50',
      'ignore_startup_parameters = extra_float_digits,options',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root: `-u postgres` drops to the postgres user after start-up.
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { uid, gid } = postgresIds();
    for (const f of [dir, ini, join(dir, 'userlist.txt')]) chownSync(f, uid, gid);
  }
  const child = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), ini], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const client = new pg.Client({ ...target, host: '127.0.0.1', port });
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`pgbouncer did not start (${error.message}):\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { port, stop };
}

// One plain TCP relay: accepts on a free loopback port and pipes each connection to the next hop.
const RELAY_SOURCE = `
const net = require('node:net');
const [host, port] = [process.env.RELAY_TO_HOST, Number(process.env.RELAY_TO_PORT)];
const server = net.createServer((client) => {
  const up = net.connect(port, host);
  client.setNoDelay(true);
  up.setNoDelay(true);
  client.pipe(up);
  up.pipe(client);
  const end = () => { client.destroy(); up.destroy(); };
  client.on('error', end);
  up.on('error', end);
  client.on('close', end);
  up.on('close', end);
});
server.listen(0, '127.0.0.1', () => console.log('relay listening on ' + server.address().port));
`;

/** Two plain Node TCP relays in series in front of the target, each its own process. */
async function startRelays(target) {
  const procs = [];
  const stop = async () => {
    for (const p of procs) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  };
  let next = target.port;
  try {
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, ['-e', RELAY_SOURCE], {
        env: { ...process.env, RELAY_TO_HOST: '127.0.0.1', RELAY_TO_PORT: String(next) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      procs.push({ child, exited });
      next = await new Promise((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c) => {
          out += c;
          const m = /relay listening on (\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`relay exited ${code}: ${out}`)));
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { port: next, stop, pids: { relay1: procs[1].child.pid, relay2: procs[0].child.pid } };
}

/**
 * Pgpool-II (Debian `pgpool2`) on a free loopback port with a configuration of its own: one backend
 * (the target), raw mode (no replication, no load balancing), connection cache on, every statement
 * logged (`log_statement = on`, to a file), SCRAM to the client and to the target with the password
 * from its pool_passwd. Undefined when pgpool is not installed.
 */
async function startPgpool(target, log) {
  const binary = ['/usr/sbin/pgpool', '/usr/bin/pgpool'].find((f) => existsSync(f));
  if (!binary) {
    log('Pgpool-II: not installed (apt-get install pgpool2); path skipped');
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-pgpool-'));
  const [port, pcpPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'pgpool.conf');
  writeFileSync(
    conf,
    [
      "backend_clustering_mode = 'raw'",
      "listen_addresses = '127.0.0.1'",
      `port = ${port}`,
      `socket_dir = '${dir}'`,
      "pcp_listen_addresses = '127.0.0.1'",
      `pcp_port = ${pcpPort}`,
      `pcp_socket_dir = '${dir}'`,
      "backend_hostname0 = '127.0.0.1'",
      `backend_port0 = ${target.port}`,
      'backend_weight0 = 1',
      "backend_flag0 = 'ALWAYS_PRIMARY|DISALLOW_TO_FAILOVER'",
      'num_init_children = 32',
      'max_pool = 1',
      'connection_cache = on',
      'load_balance_mode = off',
      'enable_pool_hba = on',
      `pool_passwd = '${join(dir, 'pool_passwd')}'`,
      'log_statement = on',
      "log_destination = 'stderr'",
      'logging_collector = off',
      'health_check_period = 0',
      'sr_check_period = 0',
      'failover_on_backend_error = off',
      `pid_file_name = '${join(dir, 'pgpool.pid')}'`,
      `logdir = '${dir}'`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'pool_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
  writeFileSync(join(dir, 'pool_passwd'), `${target.user}:TEXT${target.password}\n`);
  writeFileSync(join(dir, 'pcp.conf'), '');
  const logFile = join(dir, 'pgpool.log');
  const out = openSync(logFile, 'a');
  const child = spawn(
    binary,
    ['-n', '-f', conf, '-a', join(dir, 'pool_hba.conf'), '-F', join(dir, 'pcp.conf')],
    { stdio: ['ignore', out, out] },
  );
  closeSync(out);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const client = new pg.Client({ ...target, host: '127.0.0.1', port });
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const output = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
        await stop();
        throw new Error(`pgpool did not start (${error.message}):\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { port, stop, logFile };
}

/** p50 of one small write + fdatasync in the temporary directory: the floor of a durable event. */
function fdatasyncFloor(samples = 300) {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-fsync-'));
  const fd = openSync(join(dir, 'journal'), 'a');
  const times = [];
  try {
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      writeSync(fd, 'x'.repeat(200));
      fdatasyncSync(fd);
      times.push((performance.now() - started) * 1000);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  return summarize(times);
}

/**
 * gateway (embedded store or DATABASE_URL) + agent + `tollgate connect` for one postgres connection,
 * under `policy` (by default the benchmark's: one deny guardrail). With `listener`, the gateway also
 * listens for PostgreSQL on a free loopback port (`listenerPort`, plain text: loopback only), and an
 * API key of the bootstrap admin (`listenerUser`, `listenerPassword`) lets clients reach it straight
 * (the database name is the connection's).
 */
export async function startTollgate(root, target, store, policy = POLICY, { listener = false } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-pg-'));
  const procs = [];
  const stop = async () => {
    for (const p of procs.reverse()) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const gw = spawnTollgate(
      root,
      [
        'gateway',
        '--http-port',
        '0',
        '--grpc-port',
        '0',
        '--log-format',
        'json',
        ...(listener ? ['--postgres-port', '0'] : []),
        ...(store ? [] : ['--data-dir', dataDir]),
      ],
      {
        TOLLGATE_BOOTSTRAP_ADMIN_SECRET: BENCH_ADMIN_SECRET,
        TOLLGATE_LOG_LEVEL: 'info',
        ...(store ? { DATABASE_URL: store } : {}),
        // e.g. --cpu-prof --cpu-prof-dir=DIR, to see where the gateway's time goes
        ...(process.env.BENCH_GATEWAY_NODE_OPTIONS
          ? { NODE_OPTIONS: process.env.BENCH_GATEWAY_NODE_OPTIONS }
          : {}),
      },
    );
    procs.push(gw);
    const [, httpUrl, grpcAddress] = await waitForOutput(
      gw,
      /"httpUrl":"([^"]+)","grpcAddress":"([^"]+)"/,
      'gateway',
    );
    const api = await adminApi(httpUrl);
    await api('/api/v1/policy', { document: policy });
    const { token } = await api('/api/v1/agents', { name: 'bench-pg' });
    await api('/api/v1/connections', {
      name: 'pg-bench',
      protocol: 'postgres',
      target: {
        host: '127.0.0.1',
        port: target.port,
        database: target.database,
        username: target.user,
        tls: { mode: 'disable' },
      },
      credential: { password: 'env:BENCH_PG_PASSWORD' },
      agents: ['bench-pg'],
    });
    const grpcUrl = `http://${grpcAddress}`;
    const agent = spawnTollgate(root, ['agent', '--gateway', grpcUrl, '--log-format', 'json'], {
      TOLLGATE_AGENT_TOKEN: token,
      BENCH_PG_PASSWORD: target.password,
      TOLLGATE_LOG_LEVEL: 'info',
      ...(process.env.BENCH_AGENT_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_AGENT_NODE_OPTIONS } : {}),
    });
    procs.push(agent);
    await waitForOutput(agent, /"msg":"bundle applied"/, 'agent');
    const cli = spawnTollgate(root, ['connect', 'pg-bench', '--port', '0', '--grpc', grpcUrl], {
      TOLLGATE_TOKEN: api.token,
      // Its HTTP lookups go to this gateway, not to whatever listens on the default 127.0.0.1:8009.
      TOLLGATE_URL: httpUrl,
    });
    procs.push(cli);
    const [, port] = await waitForOutput(cli, /listening on 127\.0\.0\.1:(\d+)/, 'tollgate connect');
    const stack = { port: Number(port), stop, gw, agent, cli, httpUrl, admin: api.token, api };
    if (!listener) return stack;
    const [, listenerPort] = await waitForOutput(
      gw,
      /"postgresAddress":"[^"]+:(\d+)"/,
      'the PostgreSQL listener',
    );
    const { key } = await api('/api/v1/api-keys', { name: 'bench-listener' });
    return {
      ...stack,
      listenerPort: Number(listenerPort),
      listenerUser: 'bootstrap-admin',
      listenerPassword: key,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The throwaway SCRAM cluster of @tollgate/testing (built), with pgbench data and the COPY table. */
export async function startTarget(root, log) {
  const require = createRequire(import.meta.url);
  const { startPostgresCluster } = require(join(root, 'libs/testing/dist/postgres-cluster.js'));
  const cluster = await startPostgresCluster();
  try {
    const target = {
      port: cluster.port,
      user: 'tg_scram',
      password: cluster.password,
      database: 'app',
    };
    let started = performance.now();
    await exec(
      'pgbench',
      [
        '-i',
        '-q',
        '-s',
        String(SCALE),
        '-h',
        '127.0.0.1',
        '-p',
        String(target.port),
        '-U',
        target.user,
        target.database,
      ],
      {
        PGPASSWORD: target.password,
      },
    );
    log(`pgbench -i -s ${SCALE}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    started = performance.now();
    cluster.sql(
      `CREATE TABLE copy_out (id bigint, at timestamptz, payload text);
       INSERT INTO copy_out SELECT g, '2026-01-01'::timestamptz + g * interval '1 second',
         left(repeat(md5(g::text), 32), 990) FROM generate_series(1, ${COPY_ROWS}) g;
       ALTER TABLE copy_out OWNER TO tg_scram;`,
      'app',
    );
    cluster.sql('VACUUM ANALYZE copy_out', 'app');
    const bytes = Number(
      cluster.sql(
        `SELECT sum(octet_length(id::text) + octet_length(at::text) + octet_length(payload) + 3) FROM copy_out`,
        'app',
      ),
    );
    log(
      `copy_out: ${COPY_ROWS} rows, ${(bytes / MiB).toFixed(0)} MiB of COPY text (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    return { cluster, target, copyBytes: bytes };
  } catch (error) {
    cluster.stop();
    throw error;
  }
}

/** Where a path's clients connect: port, user, password and database (the target's, or Tollgate's). */
async function pgbench(endpoint, workload) {
  const started = performance.now();
  const { stdout } = await exec(
    'pgbench',
    [
      '-n',
      '-c',
      String(CLIENTS),
      '-j',
      '2',
      '-T',
      String(workload.seconds ?? SECONDS),
      ...workload.args,
      '-h',
      '127.0.0.1',
      '-p',
      String(endpoint.port),
      '-U',
      endpoint.user,
      endpoint.database,
    ],
    { PGPASSWORD: endpoint.password, PGSSLMODE: 'disable' },
  );
  const wall = (performance.now() - started) / 1000;
  const tps = Number(/tps = ([\d.]+) \((?:without|including)/.exec(stdout)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(latency) || !Number.isFinite(processed))
    throw new Error(`cannot read pgbench output:\n${stdout}`);
  // With -C every transaction is a session: its rate over the whole run, connections included.
  return { tps: workload.key === 'sessions' ? processed / wall : tps, latency, failed, processed };
}

async function copyOut(endpoint, expected) {
  const started = performance.now();
  const { stdout } = await exec(
    'sh',
    [
      '-c',
      `psql -X -h 127.0.0.1 -p ${endpoint.port} -U "$PGUSER" -d "$PGDATABASE" -v ON_ERROR_STOP=1 -c 'COPY copy_out TO STDOUT' | wc -c`,
    ],
    {
      PGPASSWORD: endpoint.password,
      PGUSER: endpoint.user,
      PGDATABASE: endpoint.database,
      PGSSLMODE: 'disable',
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const bytes = Number(stdout.trim());
  if (bytes !== expected) throw new Error(`COPY out: ${bytes} bytes, expected ${expected}`);
  return bytes / MiB / seconds;
}

async function selectOneLatency(endpoint) {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    database: endpoint.database,
  });
  await client.connect();
  const samples = [];
  try {
    for (let i = 0; i < WARMUP + QUERIES; i++) {
      const started = performance.now();
      await client.query('SELECT 1');
      if (i >= WARMUP) samples.push((performance.now() - started) * 1000);
    }
  } finally {
    await client.end();
  }
  return summarize(samples);
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds the whole machine has spent busy (every core, every process: /proc/stat). */
function machineBusySeconds() {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/**
 * Runs `work`, returning its result, each process's CPU use during it as a share of one core, and
 * the machine's busy CPU seconds over the run (`machine`, for CPU per transaction).
 */
async function withCpu(pids, work) {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const machineBefore = machineBusySeconds();
  const started = performance.now();
  const result = await work();
  const wall = (performance.now() - started) / 1000;
  const cpu = Object.fromEntries(
    Object.entries(pids).map(([k, pid]) => [k, (cpuSeconds(pid) - before[k]) / wall]),
  );
  return { result, cpu, machine: machineBusySeconds() - machineBefore, wall };
}

export async function machinePostgresStore() {
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  const db = `tollgate_bench_pg_${process.pid}`;
  await admin.query(`CREATE DATABASE ${db}`);
  return {
    url: `postgres://postgres@127.0.0.1:5432/${db}`,
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export async function run({ root, log }) {
  // Other work on the machine skews every number here; the load average before and after says how much.
  const loadBefore = loadavg()[0];
  log(`load average (1 min) before: ${loadBefore.toFixed(2)}`);
  const fsync = fdatasyncFloor();
  log(`fdatasync (200 B) p50 ${fsync.p50.toFixed(0)} µs, p99 ${fsync.p99.toFixed(0)} µs`);
  const cleanups = [];
  const results = {};
  const skipped = [];
  let copyBytes = 0;
  let auditNote = '';
  try {
    const t = await startTarget(root, log);
    cleanups.push(() => t.cluster.stop());
    const { target } = t;
    copyBytes = t.copyBytes;
    const direct = {
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
    };
    const reset = () => {
      t.cluster.sql('TRUNCATE pgbench_history', 'app');
      t.cluster.sql(
        'VACUUM ANALYZE pgbench_branches, pgbench_tellers, pgbench_accounts, pgbench_history',
        'app',
      );
    };

    const cpuText = (cpu) =>
      Object.entries(cpu)
        .map(([k, v]) => `${k} ${(v * 100).toFixed(0)}%`)
        .join(', ');
    const measure = async (name, endpoint, pids = {}) => {
      const r = { pgbench: {}, cpu: {}, perUnit: {} };
      for (const workload of WORKLOADS) {
        if (workload.key !== 'sessions') reset();
        const { result, cpu, wall } = await withCpu(pids, () => pgbench(endpoint, workload));
        r.pgbench[workload.key] = result;
        r.cpu[workload.key] = cpu;
        // CPU µs per transaction (per session for -C) of each process measured.
        r.perUnit[workload.key] = Object.fromEntries(
          Object.entries(cpu).map(([k, v]) => [k, (v * wall * 1e6) / result.processed]),
        );
        log(
          `${name}: ${workload.label}: ${result.tps.toFixed(0)} ${workload.key === 'sessions' ? 'sessions/s' : 'tps'}, latency avg ${result.latency.toFixed(3)} ms` +
            (result.failed ? `, ${result.failed} failed` : '') +
            (Object.keys(pids).length ? `; CPU ${cpuText(cpu)}` : ''),
        );
      }
      const copy = await withCpu(pids, () => copyOut(endpoint, copyBytes));
      r.copy = copy.result;
      r.cpu.copy = copy.cpu;
      log(
        `${name}: COPY out ${(copyBytes / MiB).toFixed(0)} MiB: ${r.copy.toFixed(0)} MiB/s` +
          (Object.keys(pids).length ? `; CPU ${cpuText(copy.cpu)}` : ''),
      );
      r.rtt = await selectOneLatency(endpoint);
      log(`${name}: SELECT 1 p50 ${r.rtt.p50.toFixed(0)} µs, p99 ${r.rtt.p99.toFixed(0)} µs`);
      results[name] = r;
    };

    await measure('direct', direct);

    const bouncer = await startPgbouncer(target, log);
    if (bouncer) {
      cleanups.push(bouncer.stop);
      await measure('PgBouncer (session pool)', { ...direct, port: bouncer.port });
      await bouncer.stop();
      cleanups.pop();
    } else {
      skipped.push('PgBouncer: not installed here (Debian package `pgbouncer`)');
    }

    const relays = await startRelays(target);
    cleanups.push(relays.stop);
    await measure('two Node relays', { ...direct, port: relays.port }, relays.pids);
    await relays.stop();
    cleanups.pop();

    try {
      const pgpool = await startPgpool(target, log);
      if (pgpool) {
        cleanups.push(pgpool.stop);
        await measure('Pgpool-II (log_statement)', { ...direct, port: pgpool.port });
        await pgpool.stop();
        cleanups.pop();
      } else {
        skipped.push('Pgpool-II: not installed here (Debian package `pgpool2`)');
      }
    } catch (error) {
      log(`Pgpool-II: ${error.message}`);
      skipped.push(`Pgpool-II: did not start (${error.message.split('\n')[0]})`);
    }

    for (const [storeName, storeKind] of [
      ['embedded store', null],
      ['PostgreSQL store', 'postgres'],
    ]) {
      let store;
      if (storeKind) {
        store = await machinePostgresStore();
        cleanups.push(store.drop);
      }
      const stack = await startTollgate(root, target, store?.url, POLICY, { listener: true });
      cleanups.push(stack.stop);
      const pids = { gateway: stack.gw.child.pid, agent: stack.agent.child.pid };
      await measure(
        `Tollgate connect, edge, ${storeName}`,
        { ...direct, port: stack.port },
        {
          ...pids,
          connect: stack.cli.child.pid,
        },
      );
      const listenerEndpoint = {
        port: stack.listenerPort,
        user: stack.listenerUser,
        password: stack.listenerPassword,
        database: 'pg-bench',
      };
      await measure(`Tollgate listener, edge, ${storeName}`, listenerEndpoint, pids);
      // The same stack in the strict mode, once the agent enforces the new policy version.
      const applied = () => stack.agent.output().split('"msg":"bundle applied"').length;
      const before = applied();
      await stack.api('/api/v1/policy', { document: STRICT_POLICY });
      await waitForOutput(
        { child: stack.agent.child, output: () => (applied() > before ? 'applied' : '') },
        /applied/,
        'the strict policy at the agent',
      );
      await measure(`Tollgate listener, strict, ${storeName}`, listenerEndpoint, pids);
      // How many statements the gateway audited, to show every statement went through the engine.
      const sessions = await fetch(`${stack.httpUrl}/api/v1/sessions?connection=pg-bench&limit=1`, {
        headers: { authorization: `Bearer ${stack.admin}` },
      }).then((r) => r.json());
      if (!auditNote && sessions?.items?.[0]?.id) {
        const detail = await fetch(`${stack.httpUrl}/api/v1/sessions/${sessions.items[0].id}`, {
          headers: { authorization: `Bearer ${stack.admin}` },
        }).then((r) => r.json());
        const kinds = {};
        for (const e of detail.events ?? []) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
        auditNote = Object.entries(kinds)
          .map(([k, n]) => `${k} ×${n}`)
          .join(', ');
        log(`${storeName}: audit events of the latest session: ${auditNote}`);
      }
      await stack.stop();
      cleanups.pop();
      if (store) {
        await store.drop();
        cleanups.pop();
      }
    }
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`cleanup: ${error.message}`);
      }
    }
  }
  const loadAfter = loadavg()[0];
  return report({ results, fsync, skipped, copyBytes, loadBefore, loadAfter });
}

function report({ results, fsync, skipped, copyBytes, loadBefore, loadAfter }) {
  const names = Object.keys(results);
  const direct = results.direct;
  const bouncer = results['PgBouncer (session pool)'];
  const relays = results['two Node relays'];
  const us = (v) => `${v.toFixed(0)} µs`;
  const ratio = (v) => `${v.toFixed(2)}×`;
  const mainRows = names.map((name) => {
    const r = results[name];
    return [
      name,
      `${r.pgbench.so.tps.toFixed(0)}`,
      `${r.pgbench.tpcb.tps.toFixed(0)}`,
      `${r.pgbench.sessions.tps.toFixed(0)}`,
      `${r.copy.toFixed(0)} MiB/s`,
      us(r.rtt.p50),
      us(r.rtt.p50 - direct.rtt.p50),
      us(r.rtt.p99 - direct.rtt.p99),
    ];
  });
  const tollgate = names.filter((n) => n.startsWith('Tollgate'));
  const measured = names.filter((n) => Object.keys(results[n].perUnit.so).length > 0);
  const processes = ['gateway', 'agent', 'connect', 'relay1', 'relay2'];
  const cell = (values, p, scale = 1, digits = 0) =>
    values[p] === undefined ? '—' : (values[p] * scale).toFixed(digits);
  const cpuRows = measured.map((name) => {
    const r = results[name];
    const total = (key) => Object.values(r.perUnit[key]).reduce((a, b) => a + b, 0);
    return [
      name,
      ...processes.map((p) => cell(r.perUnit.so, p)),
      total('so').toFixed(0),
      (total('tpcb') / 7).toFixed(0),
      ...['gateway', 'agent', 'connect'].map((p) => cell(r.perUnit.sessions, p, 1e-3, 2)),
    ];
  });
  const goalLines = tollgate
    .filter((n) => n.includes('listener, edge'))
    .map((name) => {
      const r = results[name];
      const added = r.rtt.p50 - direct.rtt.p50;
      const so = r.pgbench.so.tps;
      const checks = [
        [`\`SELECT 1\` added p50 ≤ 500 µs`, `${us(added)}`, added <= 500],
        bouncer
          ? [
              `select-only ≥ 0.25× PgBouncer`,
              ratio(so / bouncer.pgbench.so.tps),
              so >= 0.25 * bouncer.pgbench.so.tps,
            ]
          : ['select-only ≥ 0.25× PgBouncer', 'PgBouncer not measured', false],
        [
          `select-only ≥ 0.6× two relays`,
          ratio(so / relays.pgbench.so.tps),
          so >= 0.6 * relays.pgbench.so.tps,
        ],
        [
          'TPC-B-like ≥ 0.25× direct',
          ratio(r.pgbench.tpcb.tps / direct.pgbench.tpcb.tps),
          r.pgbench.tpcb.tps >= 0.25 * direct.pgbench.tpcb.tps,
        ],
        ['COPY out ≥ 0.5× direct', ratio(r.copy / direct.copy), r.copy >= 0.5 * direct.copy],
        [
          'pgbench -C ≥ 0.5× direct',
          ratio(r.pgbench.sessions.tps / direct.pgbench.sessions.tps),
          r.pgbench.sessions.tps >= 0.5 * direct.pgbench.sessions.tps,
        ],
      ];
      return `- ${name}: ${checks.map(([goal, value, ok]) => `${goal} — **${value}** (${ok ? 'met' : 'not met'})`).join('; ')}.`;
    });
  const cores = cpus().length;
  return [
    '## PostgreSQL: direct, PgBouncer, two Node relays, Pgpool-II, Tollgate (connect and gateway listener)',
    '',
    `One target for every path: a throwaway PostgreSQL 15 cluster (fsync=off) that authenticates with SCRAM-SHA-256, ` +
      `pgbench data at scale ${SCALE}. Paths: **direct** (TCP to the target); **PgBouncer** 1.18 (Debian), ` +
      '`pool_mode = session`, SCRAM on both sides; **two Node relays**: two plain Node.js TCP relays in series, each its own ' +
      'process (no parsing, no gRPC: the floor of any design with two Node processes on the path); **Pgpool-II** 4.3 ' +
      '(Debian), raw mode, connection cache, `log_statement = on` (a C proxy that parses and logs every statement); ' +
      '**Tollgate connect**: `tollgate connect` → gateway → agent → target; **Tollgate listener**: psql/pgbench/node-postgres ' +
      "straight to the gateway's own PostgreSQL listener (an API key as the password, the connection as the database) → " +
      'agent → target. In both, the agent authenticates to the target with SCRAM, its PostgreSQL engine parses every ' +
      'statement and decides it against a policy that allows everything but has a guardrail (deny DROP/TRUNCATE), and ' +
      "each statement's audit event is durable before the statement is forwarded: **edge** (the default) in the agent's " +
      'own journal (group-committed fdatasync, shipped to the gateway on a stream of its own), **strict** (`audit: ' +
      "gateway` in the policy, measured through the listener on the same stack) in the gateway's store. The gateway " +
      "runs on the embedded store (PGlite) and on PostgreSQL (the machine's server, another database). No masking " +
      'rules. Everything — target, clients, peers and the Tollgate processes — shares the machine.',
    '',
    `pgbench: ${CLIENTS} clients, 2 threads, simple protocol, \`-n\`; select-only and TPC-B-like ${SECONDS} s each ` +
      `(TPS without initial connection time; history truncated and tables vacuumed before each), \`pgbench -C -S\` ` +
      `${SESSION_SECONDS} s (a new session per transaction; sessions per second of wall time, connections included). ` +
      `COPY out: \`COPY copy_out TO STDOUT\` through psql into \`wc -c\`, ${(copyBytes / GiB).toFixed(2)} GiB of COPY text, ` +
      `byte count checked. \`SELECT 1\`: ${QUERIES} sequential round trips with node-postgres on one connection (after ` +
      `${WARMUP} warm-up); added = the path's percentile minus direct's.`,
    '',
    table(
      [
        'path',
        'select-only TPS',
        'TPC-B-like TPS',
        'pgbench -C sessions/s',
        'COPY out',
        'SELECT 1 p50',
        'added p50',
        'added p99',
      ],
      mainRows,
    ),
    '',
    `Floors measured in the same run: one 200-byte write + fdatasync in the temporary directory, p50 ` +
      `**${us(fsync.p50)}** (p99 ${us(fsync.p99)}); two Node relays add **${us(relays.rtt.p50 - direct.rtt.p50)}** p50 ` +
      'to `SELECT 1`.',
    ...(skipped.length ? ['', `Not measured: ${skipped.join('; ')}.`] : []),
    '',
    `CPU per unit of work of each process on the path (its CPU time during the run ÷ the transactions or sessions ` +
      `pgbench completed; µs per select-only statement, per TPC-B-like statement (7 per transaction, all processes), ms ` +
      'per session opened with `pgbench -C`):',
    '',
    table(
      [
        'path',
        ...processes.map((p) => `${p} µs/stmt`),
        'all µs/stmt',
        'all µs/stmt TPC-B',
        'gateway ms/session',
        'agent ms/session',
        'connect ms/session',
      ],
      cpuRows,
    ),
    '',
    'Goals (through the gateway listener in edge mode; the strict rows above are for comparison):',
    '',
    ...goalLines,
    '',
    `Load average (1 min): ${loadBefore.toFixed(2)} before the suite, ${loadAfter.toFixed(2)} after, on ${cores} cores; ` +
      'the machine was shared with other work during the run, which can land on any path.',
  ].join('\n');
}
