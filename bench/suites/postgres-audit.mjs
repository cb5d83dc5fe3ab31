// The command path's audit modes side by side: `SELECT 1` round trips (node-postgres, sequential)
// and pgbench select-only (simple protocol, 8 clients) through `tollgate connect` → gateway → agent
// → a SCRAM target, with the policy's default audit mode (edge: the agent's journal, fdatasync'd,
// shipped on its own stream) and with `audit: [{mode: gateway}]` (strict: the gateway's commit
// before forwarding), beside direct. Embedded store, one run; ratios decide, not absolute figures.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { BENCH_ADMIN_ROLES, summarize, table } from '../lib.mjs';
import { machinePostgresStore, startTarget, startTollgate } from './postgres.mjs';

const SECONDS = Number(process.env.BENCH_PG_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_PG_CLIENTS ?? 8);
const QUERIES = Number(process.env.BENCH_PG_QUERIES ?? 2000);
const WARMUP = 200;
// The modes alternate, round after round, so a shared machine's load falls on both alike.
const ROUNDS = Number(process.env.BENCH_AUDIT_ROUNDS ?? 2);

const GUARDRAIL = `guardrails:
  - name: no-drop
    match: {protocol: postgres}
    deny: {statements: [DROP, TRUNCATE], message: dropping tables is not allowed here}
`;
const MODES = [
  { key: 'edge', label: 'edge (agent journal)', policy: `${BENCH_ADMIN_ROLES}${GUARDRAIL}` },
  {
    key: 'gateway',
    label: 'strict (gateway commit)',
    policy: `${BENCH_ADMIN_ROLES}${GUARDRAIL}audit:\n  - name: strict\n    mode: gateway\n`,
  },
];

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function pgbenchTps(port, target) {
  return new Promise((resolve, reject) => {
    const args = ['-n', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS), '-S', '-M', 'simple'];
    args.push('-h', '127.0.0.1', '-p', String(port), '-U', target.user, target.database);
    const child = spawn('pgbench', args, {
      env: { ...process.env, PGPASSWORD: target.password, PGSSLMODE: 'disable' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => {
      const tps = /tps = ([\d.]+)/.exec(out);
      if (code !== 0 || !tps) reject(new Error(`pgbench exited ${code}:\n${out}`));
      else resolve(Number(tps[1]));
    });
  });
}

async function selectOne(port, target) {
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

export async function run({ root, log }) {
  const { cluster, target } = await startTarget(root, log);
  const rows = [];
  const only = process.env.BENCH_AUDIT_MODES?.split(',');
  try {
    const direct = { rtt: await selectOne(target.port, target), tps: await pgbenchTps(target.port, target) };
    log(`direct: SELECT 1 p50 ${direct.rtt.p50.toFixed(0)} µs, select-only ${direct.tps.toFixed(0)} tps`);
    rows.push(['direct', direct.rtt.p50.toFixed(0), '—', direct.tps.toFixed(0), '1.00×', '—']);
    const modes = MODES.filter((m) => !only || only.includes(m.key));
    const stores = (process.env.BENCH_AUDIT_STORES ?? 'embedded,postgres').split(',');
    for (const storeKind of stores) {
      const results = new Map(modes.map((m) => [m.key, { p50: [], tps: [], cpu: [] }]));
      for (let round = 1; round <= ROUNDS; round++) {
        for (const mode of modes) {
          const store = storeKind === 'postgres' ? await machinePostgresStore() : undefined;
          const stack = await startTollgate(root, target, store?.url, mode.policy);
          try {
            const rtt = await selectOne(stack.port, target);
            const procs = [stack.gw, stack.agent, stack.cli].map((p) => p.child.pid);
            const before = procs.map(cpuSeconds);
            const tps = await pgbenchTps(stack.port, target);
            // CPU per transaction of each Tollgate process (gateway, agent, connect), in µs.
            const cpu = procs.map((pid, i) => ((cpuSeconds(pid) - before[i]) / (tps * SECONDS)) * 1e6);
            log(
              `${storeKind} store, round ${round}, ${mode.label}: SELECT 1 p50 ${rtt.p50.toFixed(0)} µs, ` +
                `select-only ${tps.toFixed(0)} tps, CPU µs/tx gateway ${cpu[0].toFixed(0)} agent ${cpu[1].toFixed(0)} connect ${cpu[2].toFixed(0)}`,
            );
            const r = results.get(mode.key);
            r.p50.push(rtt.p50);
            r.tps.push(tps);
            r.cpu.push(cpu);
          } finally {
            await stack.stop();
            await store?.drop();
          }
        }
      }
      const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
      for (const mode of modes) {
        const { p50, tps, cpu } = results.get(mode.key);
        rows.push([
          `Tollgate via connect, ${storeKind} store, ${mode.label}`,
          mean(p50).toFixed(0),
          (mean(p50) - direct.rtt.p50).toFixed(0),
          mean(tps).toFixed(0),
          `${(mean(tps) / direct.tps).toFixed(2)}×`,
          [0, 1, 2].map((i) => mean(cpu.map((c) => c[i])).toFixed(0)).join(' / '),
        ]);
      }
    }
  } finally {
    cluster.stop();
  }
  return [
    '## PostgreSQL: audit modes',
    '',
    `\`SELECT 1\` p50 over ${QUERIES} sequential queries (µs) and pgbench select-only (simple, ${CLIENTS} clients, ${SECONDS} s), embedded and PostgreSQL store; ` +
      `each Tollgate figure the mean of ${ROUNDS} rounds, the modes alternating (run with BENCH_PG_COPY_ROWS=1000: this suite reads no COPY table).`,
    '',
    table(
      [
        'path',
        'SELECT 1 p50 µs',
        'added p50 µs',
        'select-only tps',
        'vs direct',
        'CPU µs/tx: gateway / agent / connect',
      ],
      rows,
    ),
  ].join('\n');
}
