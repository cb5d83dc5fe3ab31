// Helpers shared by the benchmark suites: statistics, tables, and the real `tollgate` CLI.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    n: sorted.length,
    min: sorted[0],
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1),
    mean,
  };
}

export function table(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const ms = (value) => `${value.toFixed(0)} ms`;

export function spawnTollgate(root, args, env = {}) {
  const child = spawn(process.execPath, [join(root, 'apps/cli/bin/tollgate.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return { child, exited, output: () => output };
}

export async function waitForHttp(url, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${url} not healthy within ${timeoutMs} ms`);
}

/** The role every benchmark policy starts with: the bootstrap admin (and tollgate-admins) may do anything. */
export const BENCH_ADMIN_ROLES = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins', 'sa:bootstrap-admin']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
`;

/** Bootstrap-admin secret the benchmark gateways start with (TOLLGATE_BOOTSTRAP_ADMIN_SECRET). */
export const BENCH_ADMIN_SECRET = 'bench-bootstrap-admin-secret-0123456789';

/** A POST helper for the gateway's API with an admin token (client credentials); `api.token` is the token. */
export async function adminApi(httpUrl) {
  const tokenResponse = await fetch(`${httpUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: 'bootstrap-admin',
      client_secret: BENCH_ADMIN_SECRET,
    }),
  });
  const admin = (await tokenResponse.json()).access_token;
  const api = async (path, body) => {
    const response = await fetch(`${httpUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  api.token = admin;
  return api;
}
