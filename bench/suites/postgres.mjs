// PostgreSQL through Tollgate against a direct connection and PgBouncer, one target for all paths: a
// throwaway cluster that authenticates with SCRAM-SHA-256 (the machine's own server trusts loopback).
// pgbench select-only (simple and prepared) and TPC-B-like with 8 clients; COPY of a ~1 GiB table
// out through psql; sequential `SELECT 1` round trips with node-postgres. The Tollgate path is the
// real thing: `tollgate connect` → gateway → agent (the PostgreSQL engine: every statement parsed,
// decided by a policy with a guardrail, audited durably) → target, measured once with the gateway on
// the embedded store and once on PostgreSQL.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { adminApi, BENCH_ADMIN_ROLES, BENCH_ADMIN_SECRET, spawnTollgate, summarize, table } from '../lib.mjs';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const SECONDS = Number(process.env.BENCH_PG_SECONDS ?? 12);
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

const WORKLOADS = [
  { key: 'so-simple', label: 'select-only, simple', args: ['-S', '-M', 'simple'] },
  { key: 'so-prepared', label: 'select-only, prepared', args: ['-S', '-M', 'prepared'] },
  { key: 'tpcb-simple', label: 'TPC-B-like, simple', args: ['-M', 'simple'] },
  { key: 'tpcb-prepared', label: 'TPC-B-like, prepared', args: ['-M', 'prepared'] },
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

/** PgBouncer on a free loopback port in front of the target, session pooling, SCRAM on both sides. */
async function startPgbouncer(target) {
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
  const child = spawn('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), ini], {
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
    const waitFor = async (proc, pattern, what) => {
      const deadline = Date.now() + 120_000;
      let match;
      while (!(match = pattern.exec(proc.output()))) {
        if (Date.now() > deadline || proc.child.exitCode !== null)
          throw new Error(`${what} did not start:\n${proc.output().slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return match;
    };
    const [, httpUrl, grpcAddress] = await waitFor(
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
    });
    procs.push(agent);
    await waitFor(agent, /"msg":"bundle applied"/, 'agent');
    const cli = spawnTollgate(root, ['connect', 'pg-bench', '--port', '0', '--grpc', grpcUrl], {
      TOLLGATE_TOKEN: api.token,
    });
    procs.push(cli);
    const [, port] = await waitFor(cli, /listening on 127\.0\.0\.1:(\d+)/, 'tollgate connect');
    const stack = { port: Number(port), stop, gw, agent, cli, httpUrl, admin: api.token };
    if (!listener) return stack;
    const [, listenerPort] = await waitFor(gw, /"postgresAddress":"[^"]+:(\d+)"/, 'the PostgreSQL listener');
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

async function pgbench(port, target, workload) {
  const { stdout } = await exec(
    'pgbench',
    [
      '-n',
      '-c',
      String(CLIENTS),
      '-j',
      '2',
      '-T',
      String(SECONDS),
      ...workload.args,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      target.user,
      target.database,
    ],
    { PGPASSWORD: target.password, PGSSLMODE: 'disable' },
  );
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
  if (!Number.isFinite(tps) || !Number.isFinite(latency))
    throw new Error(`cannot read pgbench output:\n${stdout}`);
  return { tps, latency, failed, processed };
}

async function copyOut(port, target, expected) {
  const started = performance.now();
  const { stdout } = await exec(
    'sh',
    [
      '-c',
      `psql -X -h 127.0.0.1 -p ${port} -U ${target.user} -d ${target.database} -v ON_ERROR_STOP=1 -c 'COPY copy_out TO STDOUT' | wc -c`,
    ],
    { PGPASSWORD: target.password, PGSSLMODE: 'disable' },
  );
  const seconds = (performance.now() - started) / 1000;
  const bytes = Number(stdout.trim());
  if (bytes !== expected) throw new Error(`COPY out: ${bytes} bytes, expected ${expected}`);
  return bytes / MiB / seconds;
}

async function selectOneLatency(port, target) {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: target.user,
    password: target.password,
    database: target.database,
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
  const cleanups = [];
  const results = {};
  let copyBytes = 0;
  let auditNote = '';
  try {
    const t = await startTarget(root, log);
    cleanups.push(() => t.cluster.stop());
    const { target } = t;
    copyBytes = t.copyBytes;
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
    const measure = async (name, port, pids = {}) => {
      const r = { pgbench: {}, cpu: {}, perTxn: {} };
      for (const workload of WORKLOADS) {
        reset();
        const { result, cpu, machine, wall } = await withCpu(pids, () => pgbench(port, target, workload));
        r.pgbench[workload.key] = result;
        r.cpu[workload.key] = cpu;
        // CPU per transaction: the whole machine's (target, pgbench, proxy, store), and the Tollgate
        // processes' own. pgbench's TPS excludes connection set-up, so this slightly overstates it.
        const transactions = result.tps * wall;
        r.perTxn[workload.key] = {
          machine: (machine / transactions) * 1e6,
          tollgate: (Object.values(cpu).reduce((a, b) => a + b, 0) * wall * 1e6) / transactions,
        };
        log(
          `${name}: ${workload.label}: ${result.tps.toFixed(0)} tps, latency avg ${result.latency.toFixed(3)} ms` +
            (result.failed ? `, ${result.failed} failed` : '') +
            (Object.keys(pids).length ? `; CPU ${cpuText(cpu)}` : ''),
        );
      }
      const copy = await withCpu(pids, () => copyOut(port, target, copyBytes));
      r.copy = copy.result;
      r.cpu.copy = copy.cpu;
      log(
        `${name}: COPY out ${(copyBytes / MiB).toFixed(0)} MiB: ${r.copy.toFixed(0)} MiB/s` +
          (Object.keys(pids).length ? `; CPU ${cpuText(copy.cpu)}` : ''),
      );
      r.rtt = await selectOneLatency(port, target);
      log(`${name}: SELECT 1 p50 ${r.rtt.p50.toFixed(0)} µs, p99 ${r.rtt.p99.toFixed(0)} µs`);
      results[name] = r;
    };

    await measure('direct', target.port);

    const bouncer = await startPgbouncer(target);
    cleanups.push(bouncer.stop);
    await measure('PgBouncer (session pool)', bouncer.port);
    await bouncer.stop();
    cleanups.pop();

    for (const [name, storeKind] of [
      ['Tollgate, embedded store', null],
      ['Tollgate, PostgreSQL store', 'postgres'],
    ]) {
      let store;
      if (storeKind) {
        store = await machinePostgresStore();
        cleanups.push(store.drop);
      }
      const stack = await startTollgate(root, target, store?.url);
      cleanups.push(stack.stop);
      await measure(name, stack.port, {
        gateway: stack.gw.child.pid,
        agent: stack.agent.child.pid,
        connect: stack.cli.child.pid,
      });
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
        log(`${name}: audit events of the latest session: ${auditNote}`);
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

  const names = Object.keys(results);
  const direct = results.direct;
  const bouncer = results['PgBouncer (session pool)'];
  const us = (v) => `${v.toFixed(0)} µs`;
  const pgRows = names.map((name) => {
    const r = results[name];
    return [
      name,
      ...WORKLOADS.map(
        (w) =>
          `${r.pgbench[w.key].tps.toFixed(0)} tps / ${r.pgbench[w.key].latency.toFixed(2)} ms` +
          (r.pgbench[w.key].failed ? ` (${r.pgbench[w.key].failed} failed)` : ''),
      ),
    ];
  });
  const otherRows = names.map((name) => {
    const r = results[name];
    return [
      name,
      `${r.copy.toFixed(0)} MiB/s`,
      us(r.rtt.p50),
      us(r.rtt.p99),
      us(r.rtt.p50 - direct.rtt.p50),
      us(r.rtt.p99 - direct.rtt.p99),
    ];
  });
  const verdict = (ok) => (ok ? 'met' : 'not met');
  const goals = names
    .filter((n) => n.startsWith('Tollgate'))
    .map((name) => {
      const r = results[name];
      const simple = r.pgbench['so-simple'].tps / bouncer.pgbench['so-simple'].tps;
      const prepared = r.pgbench['so-prepared'].tps / bouncer.pgbench['so-prepared'].tps;
      const copy = r.copy / direct.copy;
      return (
        `- ${name}: select-only TPS ≥ 0.5× PgBouncer's — simple **${simple.toFixed(2)}×**, prepared **${prepared.toFixed(2)}×** ` +
        `(${verdict(simple >= 0.5 && prepared >= 0.5)}); COPY-out ≥ 0.5× direct — **${copy.toFixed(2)}×** (${verdict(copy >= 0.5)}).`
      );
    });
  const tollgateNames = names.filter((n) => n.startsWith('Tollgate'));
  const cpuRows = tollgateNames.flatMap((name) =>
    [...WORKLOADS.map((w) => [w.key, w.label]), ['copy', 'COPY out']].map(([key, label]) => [
      name,
      label,
      ...['gateway', 'agent', 'connect'].map((p) => `${(results[name].cpu[key][p] * 100).toFixed(0)}%`),
    ]),
  );
  const cores = cpus().length;
  const selectOnly = WORKLOADS.filter((w) => w.key.startsWith('so-'));
  const perTxnRows = names.map((name) => [
    name,
    ...selectOnly.flatMap((w) => {
      const t = results[name].perTxn[w.key];
      return [
        `${t.machine.toFixed(0)} µs`,
        name.startsWith('Tollgate') ? `${t.tollgate.toFixed(0)} µs` : '—',
        `${((cores * 1e6) / t.machine).toFixed(0)} tps`,
      ];
    }),
  ]);
  return [
    '## PostgreSQL: pgbench, COPY out and per-query latency — direct, PgBouncer, Tollgate',
    '',
    `One target for every path: a throwaway PostgreSQL 15 cluster (fsync=off) that authenticates with SCRAM-SHA-256, ` +
      `pgbench data at scale ${SCALE}. Paths: **direct** (TCP to the target); **PgBouncer** 1.18 (Debian), ` +
      '`pool_mode = session` (transaction pooling would break `-M prepared` in this version), `auth_type = scram-sha-256` on ' +
      'both sides; **Tollgate**: `tollgate connect` → gateway → agent → target, the agent authenticating with SCRAM, its ' +
      'PostgreSQL engine parsing every statement with the real parser, deciding it against a policy that allows everything ' +
      'but has a guardrail (deny DROP/TRUNCATE) and auditing it durably before forwarding; measured with the gateway on the ' +
      "embedded store (PGlite) and on PostgreSQL (the machine's server, another database). No masking rules. " +
      'Everything — target, pgbench, PgBouncer and the three Tollgate processes — shares the machine.',
    '',
    `pgbench with ${CLIENTS} clients, 2 threads, ${SECONDS} s per run, \`-n\` (history truncated and tables vacuumed ` +
      'directly before each run); TPS (without initial connection time) / average latency:',
    '',
    table(['path', ...WORKLOADS.map((w) => w.label)], pgRows),
    '',
    `COPY out: \`COPY copy_out TO STDOUT\` through psql into \`wc -c\`, ${(copyBytes / GiB).toFixed(2)} GiB of COPY text ` +
      `(${COPY_ROWS} rows of ~1 KiB), byte count checked. Per-query latency: ${QUERIES} sequential \`SELECT 1\` ` +
      "round trips with node-postgres on one connection (after 200 warm-up); added = the path's percentile minus direct's.",
    '',
    table(['path', 'COPY out', 'SELECT 1 p50', 'SELECT 1 p99', 'added p50', 'added p99'], otherRows),
    '',
    `Load average (1 min) before the suite started anything: ${loadBefore.toFixed(2)} on ${cpus().length} cores. ` +
      'The machine is shared with other work, which can land on any path.',
    '',
    'Goals:',
    '',
    ...goals,
    '',
    'CPU of the Tollgate processes during each run (share of one core; the machine has ' +
      `${cpus().length}):`,
    '',
    table(['path', 'run', 'gateway', 'agent', 'connect'], cpuRows),
    '',
    `CPU per select-only transaction: busy CPU of the whole machine (every process: target, pgbench, proxy, ` +
      `audit store) divided by the transactions run, the Tollgate processes' share of it, and the ceiling that ` +
      `cost puts on ${cores} cores if the machine did nothing else (${cores} CPU-seconds per second ÷ CPU per transaction):`,
    '',
    table(
      [
        'path',
        ...selectOnly.flatMap((w) => [
          `${w.label}: machine`,
          `${w.label}: Tollgate processes`,
          `${w.label}: CPU ceiling`,
        ]),
      ],
      perTxnRows,
    ),
  ].join('\n');
}
