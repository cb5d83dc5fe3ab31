// Time from `tollgate gateway` being spawned to GET /healthz answering 200: on a new embedded data
// directory (PGlite initdb + migrations), on an existing one, and on PostgreSQL (DATABASE_URL).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ms, spawnTollgate, summarize, table, waitForHttp } from '../lib.mjs';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
const PORT = 18409;

async function timeToHealthy(root, args, env) {
  const started = performance.now();
  const gw = spawnTollgate(
    root,
    ['gateway', '--http-port', String(PORT), '--grpc-port', '0', '--log-level', 'warn', ...args],
    env,
  );
  try {
    await waitForHttp(`http://127.0.0.1:${PORT}/healthz`);
    return performance.now() - started;
  } finally {
    gw.child.kill('SIGTERM');
    await gw.exited;
  }
}

export async function run({ root, log }) {
  const rows = [];
  const measure = async (label, once) => {
    const samples = [];
    for (let i = 0; i < RUNS; i++) samples.push(await once());
    const s = summarize(samples);
    log(`${label}: p50 ${ms(s.p50)}, min ${ms(s.min)}, max ${ms(s.max)} (${s.n} runs)`);
    rows.push([label, ms(s.p50), ms(s.min), ms(s.max), String(s.n)]);
  };

  await measure('embedded store, new data dir (initdb + migrations)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
    try {
      return await timeToHealthy(root, ['--data-dir', dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const existing = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  await timeToHealthy(root, ['--data-dir', existing]);
  await measure('embedded store, existing data dir', () => timeToHealthy(root, ['--data-dir', existing]));
  rmSync(existing, { recursive: true, force: true });

  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await admin.connect();
  const db = `tollgate_bench_${process.pid}`;
  await admin.query(`CREATE DATABASE ${db}`);
  try {
    const url = `postgres://postgres@127.0.0.1:5432/${db}`;
    await measure('PostgreSQL, first start (migrations)', async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${db}_fresh WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${db}_fresh`);
      return timeToHealthy(root, [], { DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${db}_fresh` });
    });
    await admin.query(`DROP DATABASE IF EXISTS ${db}_fresh WITH (FORCE)`);
    await timeToHealthy(root, [], { DATABASE_URL: url });
    await measure('PostgreSQL, existing database', () => timeToHealthy(root, [], { DATABASE_URL: url }));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }

  return [
    '## Gateway start-up: time to healthy',
    '',
    'From spawning `tollgate gateway` (a new Node.js process) to `GET /healthz` answering 200.',
    '',
    table(['store', 'p50', 'min', 'max', 'runs'], rows),
  ].join('\n');
}
