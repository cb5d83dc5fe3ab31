// The command path's audit modes side by side: `SELECT 1` round trips (node-postgres, sequential)
// and pgbench select-only (simple protocol, 8 clients) through `tollgate connect` → gateway → agent
// → a SCRAM target, with the policy's default audit mode (edge: the agent's journal, fdatasync'd,
// shipped on its own stream) and with `audit: [{mode: gateway}]` (strict: the gateway's commit
// before forwarding), beside direct. Embedded store, one run; ratios decide, not absolute figures.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { BENCH_ADMIN_ROLES, summarize, table } from '../lib.mjs';
import { startTarget, startTollgate } from './postgres.mjs';

const SECONDS = Number(process.env.BENCH_PG_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_PG_CLIENTS ?? 8);
const QUERIES = Number(process.env.BENCH_PG_QUERIES ?? 2000);
const WARMUP = 200;

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
  process.env.BENCH_PG_COPY_ROWS ??= '1000';
  const { cluster, target } = await startTarget(root, log);
  const rows = [];
  const only = process.env.BENCH_AUDIT_MODES?.split(',');
  try {
    const direct = { rtt: await selectOne(target.port, target), tps: await pgbenchTps(target.port, target) };
    log(`direct: SELECT 1 p50 ${direct.rtt.p50.toFixed(0)} µs, select-only ${direct.tps.toFixed(0)} tps`);
    rows.push(['direct', direct.rtt.p50.toFixed(0), '—', direct.tps.toFixed(0), '1.00×']);
    for (const mode of MODES.filter((m) => !only || only.includes(m.key))) {
      const stack = await startTollgate(root, target, undefined, mode.policy);
      try {
        const rtt = await selectOne(stack.port, target);
        const tps = await pgbenchTps(stack.port, target);
        log(`${mode.label}: SELECT 1 p50 ${rtt.p50.toFixed(0)} µs, select-only ${tps.toFixed(0)} tps`);
        rows.push([
          `Tollgate via connect, ${mode.label}`,
          rtt.p50.toFixed(0),
          (rtt.p50 - direct.rtt.p50).toFixed(0),
          tps.toFixed(0),
          `${(tps / direct.tps).toFixed(2)}×`,
        ]);
      } finally {
        await stack.stop();
      }
    }
  } finally {
    cluster.stop();
  }
  return [
    '## PostgreSQL: audit modes',
    '',
    `\`SELECT 1\` p50 over ${QUERIES} sequential queries (µs) and pgbench select-only (simple, ${CLIENTS} clients, ${SECONDS} s), embedded store.`,
    '',
    table(['path', 'SELECT 1 p50 µs', 'added p50 µs', 'select-only tps', 'vs direct'], rows),
  ].join('\n');
}
